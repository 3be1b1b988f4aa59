/* websocketd's --maxforks from the caps: above every session the caps allow, so that
 * periscope's JSON 429 answers first. */
#include <string.h>

#include "shell/fork_limit.h"
#include "unit.h"

/* A configuration with n clusters and both kinds on, 10 sessions each per cluster. */
static void two_kinds(struct config *cfg, struct cluster_config *clusters, size_t n)
{
	memset(cfg, 0, sizeof *cfg);
	memset(clusters, 0, n * sizeof *clusters);
	for (size_t i = 0; i < n; i++)
		clusters[i].cluster_shell.enabled = -1; /* unset: the global switch decides */
	cfg->clusters = clusters;
	cfg->clusters_count = n;
	cfg->cluster_shell.enabled = true;
	cfg->cluster_shell.max_sessions_total = 10;
	cfg->node_shell.enabled = true;
	cfg->node_shell.max_sessions_total = 10;
}

START_TEST(every_cluster_and_both_kinds_count)
{
	struct config cfg;
	struct cluster_config clusters[3];

	two_kinds(&cfg, clusters, 3);
	cfg.node_shell.max_sessions_total = 7;
	ck_assert_int_eq(fork_limit_sessions(&cfg), 3 * (10 + 7));
	/* 51 sessions: a quarter is 12, below the minimum headroom of 16. */
	ck_assert_int_eq(fork_limit(&cfg), 51 + 16);
}
END_TEST

START_TEST(a_kind_switched_off_counts_nothing)
{
	struct config cfg;
	struct cluster_config clusters[2];

	two_kinds(&cfg, clusters, 2);
	clusters[1].cluster_shell.enabled = 0;
	ck_assert_int_eq(fork_limit_sessions(&cfg), 10 + 10 + 10);
	cfg.node_shell.enabled = false;
	ck_assert_int_eq(fork_limit_sessions(&cfg), 10);
	cfg.cluster_shell.enabled = false;
	ck_assert_int_eq(fork_limit_sessions(&cfg), 0);
	ck_assert_int_eq(fork_limit(&cfg), 16);
}
END_TEST

START_TEST(large_caps_get_a_quarter_more)
{
	struct config cfg;
	struct cluster_config clusters[1];

	two_kinds(&cfg, clusters, 1);
	cfg.cluster_shell.max_sessions_total = 500;
	cfg.node_shell.enabled = false;
	ck_assert_int_eq(fork_limit(&cfg), 625);
}
END_TEST

static Suite *fork_limit_suite(void)
{
	Suite *s = suite_create("fork_limit");
	TCase *tc = tcase_create("limit");

	tcase_add_test(tc, every_cluster_and_both_kinds_count);
	tcase_add_test(tc, a_kind_switched_off_counts_nothing);
	tcase_add_test(tc, large_caps_get_a_quarter_more);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(fork_limit_suite)
