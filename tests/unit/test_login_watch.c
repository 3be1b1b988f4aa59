/* What a running terminal makes of its login session (lib/shell/login_watch.c). */
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"
#include "shell/login_watch.h"
#include "unit.h"

#define NOW 100000

static const char yaml[] =
	"auth:\n"
	"  oidc:\n"
	"    issuer: https://idp.example.com/\n"
	"    clientID: periscope\n"
	"    redirectURL: http://127.0.0.1:8080/api/auth/callback\n"
	"  session:\n"
	"    idleTimeout: 10m\n"
	"    refreshBefore: 60s\n"
	"  authorization:\n"
	"    mode: tier\n"
	"    groupTiers: { admins: admin, operators: write, viewers: read }\n"
	"clusterShell:\n"
	"  tiers: [admin, write]\n"
	"nodeShell:\n"
	"  tiers: [admin]\n";

static struct config *load(void)
{
	char err[512];
	struct config *cfg = config_load_from_memory(yaml, strlen(yaml), "inline.yaml", err, sizeof err);

	ck_assert_msg(cfg != NULL, "%s", err);
	return cfg;
}

/* A live session seen at NOW: active a minute ago, access token good for an hour. */
static struct login_status live(const char *groups_json)
{
	struct login_status st = { 0 };

	st.groups_json = (char *)groups_json;
	st.last_seen_at = NOW - 60;
	st.absolute_expires_at = NOW + 3600;
	st.access_expires_at = NOW + 3600;
	return st;
}

static const char *judge(const struct config *cfg, enum shell_kind kind, enum tier opened,
			 enum session_lookup found, const struct login_status *st, bool *refresh_due)
{
	struct shell_target t = { .kind = kind, .cluster = "local" };

	return login_watch_judge(cfg, &t, opened, found, st, NOW, refresh_due);
}

START_TEST(a_live_session_keeps_its_terminal)
{
	struct config *cfg = load();
	struct login_status st = live("[\"admins\"]");
	bool due = true;

	ck_assert_ptr_null(judge(cfg, SHELL_CLUSTER, TIER_ADMIN, SESSION_FOUND, &st, &due));
	ck_assert(!due);
	/* Within refreshBefore of the access token's expiry: refresh first. */
	st.access_expires_at = NOW + 30;
	ck_assert_ptr_null(judge(cfg, SHELL_CLUSTER, TIER_ADMIN, SESSION_FOUND, &st, &due));
	ck_assert(due);
	config_free(cfg);
}
END_TEST

START_TEST(an_ended_session_closes_with_its_recorded_reason)
{
	struct config *cfg = load();
	struct login_status st = { 0 };
	bool due;

	strcpy(st.end_reason, "signed_out");
	ck_assert_str_eq(judge(cfg, SHELL_NODE, TIER_ADMIN, SESSION_MISSING, &st, &due), "signed_out");
	strcpy(st.end_reason, "session_expired");
	ck_assert_str_eq(judge(cfg, SHELL_NODE, TIER_ADMIN, SESSION_MISSING, &st, &due), "session_expired");
	/* Ended so long ago that the record is gone. */
	st.end_reason[0] = '\0';
	ck_assert_str_eq(judge(cfg, SHELL_NODE, TIER_ADMIN, SESSION_MISSING, &st, &due), "session_expired");
	config_free(cfg);
}
END_TEST

START_TEST(idle_and_absolute_timeouts_close_as_the_api_would)
{
	struct config *cfg = load();
	struct login_status st = live("[\"admins\"]");
	bool due;

	st.last_seen_at = NOW - 600; /* idleTimeout 10m */
	ck_assert_str_eq(judge(cfg, SHELL_CLUSTER, TIER_ADMIN, SESSION_FOUND, &st, &due), "session_expired");
	st = live("[\"admins\"]");
	st.absolute_expires_at = NOW;
	ck_assert_str_eq(judge(cfg, SHELL_CLUSTER, TIER_ADMIN, SESSION_FOUND, &st, &due), "session_expired");
	config_free(cfg);
}
END_TEST

START_TEST(a_lost_or_lowered_tier_closes_the_terminal)
{
	struct config *cfg = load();
	struct login_status st = live("[\"viewers\"]");
	bool due;

	/* read may not open a cluster shell (admin, write). */
	ck_assert_str_eq(judge(cfg, SHELL_CLUSTER, TIER_ADMIN, SESSION_FOUND, &st, &due), "forbidden");
	st = live("[]");
	ck_assert_str_eq(judge(cfg, SHELL_CLUSTER, TIER_WRITE, SESSION_FOUND, &st, &due), "forbidden");
	/* write still may, but the terminal holds admin's rights. */
	st = live("[\"operators\"]");
	ck_assert_str_eq(judge(cfg, SHELL_CLUSTER, TIER_ADMIN, SESSION_FOUND, &st, &due), "tier_changed");
	/* write opened it: write goes on; a raise keeps it too. */
	ck_assert_ptr_null(judge(cfg, SHELL_CLUSTER, TIER_WRITE, SESSION_FOUND, &st, &due));
	st = live("[\"admins\", \"operators\"]");
	ck_assert_ptr_null(judge(cfg, SHELL_CLUSTER, TIER_WRITE, SESSION_FOUND, &st, &due));
	/* The node shell has its own list (admin only). */
	st = live("[\"operators\"]");
	ck_assert_str_eq(judge(cfg, SHELL_NODE, TIER_ADMIN, SESSION_FOUND, &st, &due), "forbidden");
	/* Groups that do not parse give no tier. */
	st = live("not json");
	ck_assert_str_eq(judge(cfg, SHELL_CLUSTER, TIER_ADMIN, SESSION_FOUND, &st, &due), "forbidden");
	config_free(cfg);
}
END_TEST

static Suite *login_watch_suite(void)
{
	Suite *s = suite_create("login_watch");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, a_live_session_keeps_its_terminal);
	tcase_add_test(tc, an_ended_session_closes_with_its_recorded_reason);
	tcase_add_test(tc, idle_and_absolute_timeouts_close_as_the_api_would);
	tcase_add_test(tc, a_lost_or_lowered_tier_closes_the_terminal);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(login_watch_suite)
