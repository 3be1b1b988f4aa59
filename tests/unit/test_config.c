/* The configuration loader as an operator meets it: defaults, a full file read back, every
 * env override, and the one-line message for each way a file or variable can be wrong. */
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "config/config_internal.h"
#include "unit.h"

#define ERRLEN 512

static char fixture_path_buf[1024];

static const char *fixture(const char *name)
{
	snprintf(fixture_path_buf, sizeof fixture_path_buf, "%s/tests/unit/data/config/%s",
		 unit_srcdir(), name);
	return fixture_path_buf;
}

/* Each test starts from an environment without any variable the loader reads. */
static void clear_env(void)
{
	for (size_t i = 0; i < cfg_env_vars_count; i++)
		unsetenv(cfg_env_vars[i].name);
	unsetenv("PERISCOPE_CONFIG");
	unsetenv("PERISCOPE_CLUSTERS_FILE");
	unsetenv("OIDC_CLIENT_SECRET");
	unsetenv("PERISCOPE_TEST_CLIENT_SECRET");
}

static void set_required_oidc_env(void)
{
	setenv("PERISCOPE_OIDC_ISSUER", "https://idp.example.com/", 1);
	setenv("PERISCOPE_OIDC_CLIENT_ID", "periscope", 1);
	setenv("PERISCOPE_OIDC_REDIRECT_URL", "http://127.0.0.1:8080/api/auth/callback", 1);
}

static struct config *load_inline(const char *yaml, char *err)
{
	return config_load_from_memory(yaml, strlen(yaml), "inline.yaml", err, ERRLEN);
}

/* Loads yaml (required OIDC keys from env) expecting a failure; returns the message. */
static const char *expect_inline_error(const char *yaml, char *err)
{
	struct config *cfg;

	set_required_oidc_env();
	cfg = load_inline(yaml, err);
	ck_assert_msg(cfg == NULL, "expected an error for:\n%s", yaml);
	ck_assert_ptr_null(strchr(err, '\n'));
	return err;
}

#define assert_contains(haystack, needle)                                             \
	ck_assert_msg(strstr((haystack), (needle)) != NULL, "\"%s\" does not contain \"%s\"", \
		      (haystack), (needle))

static void assert_list(const struct string_list *l, const char *const *items, size_t n)
{
	ck_assert_uint_eq(l->count, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(l->items[i], items[i]);
}

#define LIST(...) (const char *const[]){ __VA_ARGS__ }, sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *)

START_TEST(defaults_without_a_file)
{
	char err[ERRLEN];
	struct config *cfg;

	set_required_oidc_env();
	cfg = config_load(NULL, err, sizeof err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(cfg->source_path, "");
	ck_assert_str_eq(cfg->server.public_url, "http://127.0.0.1:8080");
	ck_assert_uint_eq(cfg->server.allowed_origins.count, 0);
	ck_assert_int_eq(cfg->server.workers, 4);

	ck_assert_str_eq(cfg->oidc.issuer, "https://idp.example.com/");
	ck_assert_str_eq(cfg->oidc.client_id, "periscope");
	ck_assert_str_eq(cfg->oidc.client_secret, "");
	ck_assert_str_eq(cfg->oidc.redirect_url, "http://127.0.0.1:8080/api/auth/callback");
	assert_list(&cfg->oidc.scopes, LIST("openid", "profile", "email", "offline_access", "groups"));
	ck_assert_str_eq(cfg->oidc.audience, "");
	ck_assert_str_eq(cfg->oidc.provider_name, "OIDC");
	ck_assert_str_eq(cfg->oidc.post_logout_redirect, "http://127.0.0.1:8080/?signedOut=1");

	ck_assert_str_eq(cfg->session.cookie_name, "periscope_session");
	ck_assert_str_eq(cfg->session.cookie_domain, "");
	ck_assert_int_eq(cfg->session.idle_timeout_s, 1800);
	ck_assert_int_eq(cfg->session.absolute_timeout_s, 28800);
	ck_assert_int_eq(cfg->session.refresh_before_s, 60);

	ck_assert_int_eq(cfg->authz.mode, AUTHZ_SHARED);
	ck_assert_str_eq(cfg->authz.groups_claim, "groups");
	ck_assert_uint_eq(cfg->authz.group_tiers_count, 0);
	ck_assert_int_eq(cfg->authz.default_tier, TIER_NONE);
	ck_assert_uint_eq(cfg->authz.audit_admin_groups.count, 0);
	ck_assert_uint_eq(cfg->authz.allowed_groups.count, 0);
	ck_assert_str_eq(cfg->authz.group_prefix, "periscope:");

	ck_assert_str_eq(cfg->audit.db_path, "/var/lib/periscope/periscope.db");
	ck_assert_int_eq(cfg->audit.retention_days, 30);
	ck_assert_int_eq(cfg->audit.max_size_mb, 1024);
	ck_assert_int_eq(cfg->audit.vacuum_interval_s, 86400);

	ck_assert(!cfg->cluster_shell.enabled);
	ck_assert_str_eq(cfg->cluster_shell.mode, "bash");
	assert_list(&cfg->cluster_shell.tiers, LIST("admin"));
	ck_assert_str_eq(cfg->cluster_shell.namespace_, "periscope-system");
	ck_assert_int_eq(cfg->cluster_shell.timers.idle_seconds, 1200);
	ck_assert_int_eq(cfg->cluster_shell.timers.idle_warn_seconds, 30);
	ck_assert_int_eq(cfg->cluster_shell.timers.heartbeat_seconds, 20);
	ck_assert_int_eq(cfg->cluster_shell.timers.max_duration_seconds, 0);
	ck_assert_int_eq(cfg->cluster_shell.pod_start_timeout_seconds, 30);
	ck_assert_int_eq(cfg->cluster_shell.token_refresh_check_seconds, 30);
	ck_assert_int_eq(cfg->cluster_shell.transcript_max_bytes, 1048576);
	ck_assert_int_eq(cfg->cluster_shell.max_sessions_per_user, 2);
	ck_assert_int_eq(cfg->cluster_shell.max_sessions_total, 10);
	ck_assert_str_eq(cfg->cluster_shell.image, "ghcr.io/gnana997/periscope-shell:0.1.0");
	ck_assert_str_eq(cfg->cluster_shell.image_pull_policy, "IfNotPresent");

	ck_assert(!cfg->node_shell.enabled);
	ck_assert_str_eq(cfg->node_shell.aws_role_arn, "");
	ck_assert_str_eq(cfg->node_shell.oidc_audience, "");
	ck_assert_str_eq(cfg->node_shell.region, "");
	assert_list(&cfg->node_shell.tiers, LIST("admin"));
	ck_assert_int_eq(cfg->node_shell.timers.idle_seconds, 600);
	ck_assert_int_eq(cfg->node_shell.timers.idle_warn_seconds, 30);
	ck_assert_int_eq(cfg->node_shell.timers.heartbeat_seconds, 20);
	ck_assert_int_eq(cfg->node_shell.timers.max_duration_seconds, 0);
	ck_assert_int_eq(cfg->node_shell.transcript_max_bytes, 1048576);
	ck_assert_int_eq(cfg->node_shell.max_sessions_per_user, 2);
	ck_assert_int_eq(cfg->node_shell.max_sessions_total, 10);
	ck_assert_str_eq(cfg->node_shell.sts_endpoint, "");
	ck_assert_str_eq(cfg->node_shell.ssm_endpoint, "");
	ck_assert_str_eq(cfg->node_shell.ca_file, "");

	ck_assert_uint_eq(cfg->clusters_count, 0);
	ck_assert_ptr_null(config_find_cluster(cfg, "prod-eu"));
	config_free(cfg);
}
END_TEST

START_TEST(full_file_reads_back_every_key)
{
	char err[ERRLEN];
	struct config *cfg;
	const struct cluster_config *c;

	setenv("PERISCOPE_TEST_CLIENT_SECRET", "from-env-secret", 1);
	cfg = config_load(fixture("full.yaml"), err, sizeof err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(cfg->source_path, fixture("full.yaml"));
	ck_assert_str_eq(cfg->server.public_url, "https://periscope.example.org");
	assert_list(&cfg->server.allowed_origins, LIST("https://ops.example.org", "https://alt.example.org"));
	ck_assert_int_eq(cfg->server.workers, 8);

	ck_assert_str_eq(cfg->oidc.issuer, "https://example.okta.com/oauth2/default");
	ck_assert_str_eq(cfg->oidc.client_id, "periscope-test");
	ck_assert_str_eq(cfg->oidc.client_secret, "from-env-secret");
	ck_assert_str_eq(cfg->oidc.redirect_url, "https://periscope.example.org/api/auth/callback");
	assert_list(&cfg->oidc.scopes, LIST("openid", "email"));
	ck_assert_str_eq(cfg->oidc.audience, "api://periscope");
	ck_assert_str_eq(cfg->oidc.provider_name, "Corp SSO");
	ck_assert_str_eq(cfg->oidc.post_logout_redirect, "https://periscope.example.org/bye");

	ck_assert_str_eq(cfg->session.cookie_name, "psid");
	ck_assert_str_eq(cfg->session.cookie_domain, "example.org");
	ck_assert_int_eq(cfg->session.idle_timeout_s, 45 * 60);
	ck_assert_int_eq(cfg->session.absolute_timeout_s, 5400);
	ck_assert_int_eq(cfg->session.refresh_before_s, 90);

	ck_assert_int_eq(cfg->authz.mode, AUTHZ_TIER);
	ck_assert_str_eq(cfg->authz.groups_claim, "roles");
	ck_assert_uint_eq(cfg->authz.group_tiers_count, 3);
	ck_assert_str_eq(cfg->authz.group_tiers[0].group, "sre");
	ck_assert_int_eq(cfg->authz.group_tiers[0].tier, TIER_ADMIN);
	ck_assert_str_eq(cfg->authz.group_tiers[1].group, "devs");
	ck_assert_int_eq(cfg->authz.group_tiers[1].tier, TIER_WRITE);
	ck_assert_str_eq(cfg->authz.group_tiers[2].group, "viewers");
	ck_assert_int_eq(cfg->authz.group_tiers[2].tier, TIER_READ);
	ck_assert_int_eq(cfg->authz.default_tier, TIER_TRIAGE);
	assert_list(&cfg->authz.audit_admin_groups, LIST("security", "sre"));
	assert_list(&cfg->authz.allowed_groups, LIST("staff"));
	ck_assert_str_eq(cfg->authz.group_prefix, "corp:");

	ck_assert_str_eq(cfg->audit.db_path, "/srv/periscope/state.db");
	ck_assert_int_eq(cfg->audit.retention_days, 0);
	ck_assert_int_eq(cfg->audit.max_size_mb, 2048);
	ck_assert_int_eq(cfg->audit.vacuum_interval_s, 3600);

	ck_assert(cfg->cluster_shell.enabled);
	ck_assert_str_eq(cfg->cluster_shell.mode, "bash");
	assert_list(&cfg->cluster_shell.tiers, LIST("admin", "maintain"));
	ck_assert_str_eq(cfg->cluster_shell.namespace_, "shells");
	ck_assert_int_eq(cfg->cluster_shell.timers.idle_seconds, 900);
	ck_assert_int_eq(cfg->cluster_shell.timers.idle_warn_seconds, 45);
	ck_assert_int_eq(cfg->cluster_shell.timers.heartbeat_seconds, 15);
	ck_assert_int_eq(cfg->cluster_shell.timers.max_duration_seconds, 7200);
	ck_assert_int_eq(cfg->cluster_shell.pod_start_timeout_seconds, 60);
	ck_assert_int_eq(cfg->cluster_shell.transcript_max_bytes, 2097152);
	ck_assert_int_eq(cfg->cluster_shell.max_sessions_per_user, 3);
	ck_assert_int_eq(cfg->cluster_shell.max_sessions_total, 12);
	ck_assert_str_eq(cfg->cluster_shell.image, "registry.example.org/periscope-shell:9.9.9");
	ck_assert_str_eq(cfg->cluster_shell.image_pull_policy, "Always");

	ck_assert(cfg->node_shell.enabled);
	ck_assert_str_eq(cfg->node_shell.aws_role_arn, "arn:aws:iam::111122223333:role/node-shell");
	ck_assert_str_eq(cfg->node_shell.oidc_audience, "periscope-test");
	ck_assert_str_eq(cfg->node_shell.region, "us-east-2");
	assert_list(&cfg->node_shell.tiers, LIST("admin", "write"));
	ck_assert_int_eq(cfg->node_shell.timers.idle_seconds, 300);
	ck_assert_int_eq(cfg->node_shell.timers.idle_warn_seconds, 20);
	ck_assert_int_eq(cfg->node_shell.timers.heartbeat_seconds, 10);
	ck_assert_int_eq(cfg->node_shell.timers.max_duration_seconds, 3600);
	ck_assert_int_eq(cfg->node_shell.transcript_max_bytes, 4096);
	ck_assert_int_eq(cfg->node_shell.max_sessions_per_user, 4);
	ck_assert_int_eq(cfg->node_shell.max_sessions_total, 20);
	ck_assert_str_eq(cfg->node_shell.sts_endpoint, "http://127.0.0.1:4566");
	ck_assert_str_eq(cfg->node_shell.ssm_endpoint, "http://127.0.0.1:4567");
	ck_assert_str_eq(cfg->node_shell.ca_file, "/etc/periscope/ca.pem");

	ck_assert_uint_eq(cfg->clusters_count, 3);
	c = config_find_cluster(cfg, "prod-eu");
	ck_assert_ptr_eq(c, &cfg->clusters[0]);
	ck_assert_int_eq(c->backend, BACKEND_EKS);
	ck_assert_str_eq(c->arn, "arn:aws:eks:eu-west-1:111122223333:cluster/prod-eu");
	ck_assert_str_eq(c->region, "eu-west-1");
	ck_assert_str_eq(c->environment, "production");
	ck_assert_str_eq(c->kubeconfig_path, "");
	ck_assert_str_eq(c->node_shell.aws_role_arn, "arn:aws:iam::444455556666:role/node-shell");
	ck_assert_str_eq(c->node_shell.oidc_audience, "sts.amazonaws.com");
	ck_assert_str_eq(c->node_shell.region, "eu-central-1");
	ck_assert_int_eq(c->cluster_shell.enabled, 0);
	ck_assert_str_eq(c->cluster_shell.namespace_, "prod-shells");

	c = config_find_cluster(cfg, "lab");
	ck_assert_ptr_eq(c, &cfg->clusters[1]);
	ck_assert_int_eq(c->backend, BACKEND_KUBECONFIG);
	ck_assert_str_eq(c->kubeconfig_path, "/etc/periscope/lab.kubeconfig");
	ck_assert_str_eq(c->kubeconfig_context, "lab-admin");
	ck_assert_str_eq(c->arn, "");
	/* Unset and empty overrides both mean "use the global value". */
	ck_assert_ptr_null(c->node_shell.aws_role_arn);
	ck_assert_ptr_null(c->node_shell.oidc_audience);
	ck_assert_ptr_null(c->node_shell.region);
	ck_assert_int_eq(c->cluster_shell.enabled, -1);
	ck_assert_ptr_null(c->cluster_shell.namespace_);

	c = config_find_cluster(cfg, "local");
	ck_assert_ptr_eq(c, &cfg->clusters[2]);
	ck_assert_int_eq(c->backend, BACKEND_IN_CLUSTER);
	ck_assert_ptr_null(config_find_cluster(cfg, "missing"));
	config_free(cfg);
}
END_TEST

START_TEST(path_null_reads_PERISCOPE_CONFIG)
{
	char err[ERRLEN];
	struct config *cfg;

	setenv("PERISCOPE_TEST_CLIENT_SECRET", "x", 1);
	setenv("PERISCOPE_CONFIG", fixture("full.yaml"), 1);
	cfg = config_load(NULL, err, sizeof err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(cfg->source_path, fixture("full.yaml"));
	ck_assert_int_eq(cfg->server.workers, 8);
	config_free(cfg);
}
END_TEST

START_TEST(example_file_loads)
{
	char err[ERRLEN], path[1024];
	struct config *cfg;

	snprintf(path, sizeof path, "%s/conf/periscope.example.yaml", unit_srcdir());
	setenv("OIDC_CLIENT_SECRET", "example-secret", 1);
	cfg = config_load(path, err, sizeof err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(cfg->oidc.client_secret, "example-secret");
	ck_assert_uint_eq(cfg->authz.group_tiers_count, 1);
	ck_assert_str_eq(cfg->cluster_shell.image, "ghcr.io/gnana997/periscope-shell:0.1.0");
	ck_assert_uint_eq(cfg->clusters_count, 2);
	ck_assert_int_eq(cfg->clusters[0].cluster_shell.enabled, 1);
	ck_assert_str_eq(cfg->clusters[1].name, "lab");
	ck_assert_str_eq(cfg->clusters[1].kubeconfig_context, "");
	config_free(cfg);
}
END_TEST

/* Every PERISCOPE_* variable the example names is one the loader reads, and back. */
START_TEST(env_table_matches_example_comments)
{
	char path[1024], *text = NULL, why[128];
	size_t len = 0, found = 0;
	regex_t re;
	regmatch_t m;
	const char *p;

	snprintf(path, sizeof path, "%s/conf/periscope.example.yaml", unit_srcdir());
	ck_assert_int_eq(cfg_read_file(path, CONFIG_MAX_FILE_BYTES, &text, &len, why, sizeof why), 0);
	ck_assert_int_eq(regcomp(&re, "PERISCOPE_[A-Z_]*[A-Z]", REG_EXTENDED), 0);
	for (p = text; regexec(&re, p, 1, &m, 0) == 0; p += m.rm_eo) {
		char name[128];
		bool known = false;

		snprintf(name, sizeof name, "%.*s", (int)(m.rm_eo - m.rm_so), p + m.rm_so);
		if (strcmp(name, "PERISCOPE_CONFIG") == 0 || strcmp(name, "PERISCOPE_CLUSTERS_FILE") == 0)
			continue;
		for (size_t i = 0; i < cfg_env_vars_count; i++)
			known |= strcmp(cfg_env_vars[i].name, name) == 0;
		ck_assert_msg(known, "%s is named in the example but not read", name);
		found++;
	}
	for (size_t i = 0; i < cfg_env_vars_count; i++)
		ck_assert_msg(strstr(text, cfg_env_vars[i].name), "%s is not in the example",
			      cfg_env_vars[i].name);
	ck_assert_uint_eq(found, cfg_env_vars_count);
	regfree(&re);
	free(text);
}
END_TEST

START_TEST(every_env_var_overrides_the_file)
{
	char err[ERRLEN];
	struct config *cfg;

	setenv("PERISCOPE_TEST_CLIENT_SECRET", "unused", 1);
	setenv("PERISCOPE_PUBLIC_URL", "http://localhost:9000/", 1);
	setenv("PERISCOPE_ALLOWED_ORIGINS", " http://a.test, ,http://b.test ", 1);
	setenv("PERISCOPE_WORKERS", "16", 1);
	setenv("PERISCOPE_OIDC_ISSUER", "https://login.microsoftonline.com/tenant/v2.0", 1);
	setenv("PERISCOPE_OIDC_CLIENT_ID", "env-client", 1);
	setenv("PERISCOPE_OIDC_CLIENT_SECRET", "env-literal-secret", 1);
	setenv("PERISCOPE_OIDC_REDIRECT_URL", "http://localhost:9000/api/auth/callback", 1);
	setenv("PERISCOPE_SESSION_IDLE_TIMEOUT", "10m", 1);
	setenv("PERISCOPE_SESSION_ABSOLUTE_TIMEOUT", "2h", 1);
	setenv("PERISCOPE_AUTHZ_MODE", "raw", 1);
	setenv("PERISCOPE_AUDIT_DB_PATH", "/tmp/env.db", 1);
	setenv("PERISCOPE_AUDIT_RETENTION_DAYS", "7", 1);
	setenv("PERISCOPE_AUDIT_MAX_SIZE_MB", "0", 1);
	setenv("PERISCOPE_AUDIT_VACUUM_INTERVAL", "30m", 1);
	setenv("PERISCOPE_CLUSTER_SHELL_ENABLED", "0", 1);
	setenv("PERISCOPE_CLUSTER_SHELL_MODE", "bash", 1);
	setenv("PERISCOPE_CLUSTER_SHELL_TIERS", "write,admin", 1);
	setenv("PERISCOPE_CLUSTER_SHELL_NAMESPACE", "env-ns", 1);
	setenv("PERISCOPE_CLUSTER_SHELL_IDLE_SECONDS", "111", 1);
	setenv("PERISCOPE_CLUSTER_SHELL_IDLE_WARN_SECONDS", "11", 1);
	setenv("PERISCOPE_CLUSTER_SHELL_HEARTBEAT_SECONDS", "5", 1);
	setenv("PERISCOPE_CLUSTER_SHELL_MAX_DURATION_SECONDS", "0", 1);
	setenv("PERISCOPE_CLUSTER_SHELL_POD_START_TIMEOUT_SECONDS", "99", 1);
	setenv("PERISCOPE_CLUSTER_SHELL_TOKEN_REFRESH_CHECK_SECONDS", "3", 1);
	setenv("PERISCOPE_CLUSTER_SHELL_TRANSCRIPT_MAX_BYTES", "5000000000", 1);
	setenv("PERISCOPE_CLUSTER_SHELL_MAX_SESSIONS_PER_USER", "7", 1);
	setenv("PERISCOPE_CLUSTER_SHELL_MAX_SESSIONS_TOTAL", "70", 1);
	setenv("PERISCOPE_CLUSTER_SHELL_IMAGE", "mirror.local/shell@sha256:abcd", 1);
	setenv("PERISCOPE_CLUSTER_SHELL_IMAGE_PULL_POLICY", "Never", 1);
	setenv("PERISCOPE_NODE_SHELL_ENABLED", "false", 1);
	setenv("PERISCOPE_NODE_SHELL_ROLE_ARN", "arn:aws:iam::999:role/env", 1);
	setenv("PERISCOPE_NODE_SHELL_OIDC_AUDIENCE", "env-aud", 1);
	setenv("PERISCOPE_NODE_SHELL_REGION", "ap-south-1", 1);
	setenv("PERISCOPE_NODE_SHELL_TIERS", "read", 1);
	setenv("PERISCOPE_NODE_SHELL_IDLE_SECONDS", "222", 1);
	setenv("PERISCOPE_NODE_SHELL_IDLE_WARN_SECONDS", "22", 1);
	setenv("PERISCOPE_NODE_SHELL_HEARTBEAT_SECONDS", "2", 1);
	setenv("PERISCOPE_NODE_SHELL_MAX_DURATION_SECONDS", "60", 1);
	setenv("PERISCOPE_NODE_SHELL_TRANSCRIPT_MAX_BYTES", "1", 1);
	setenv("PERISCOPE_NODE_SHELL_MAX_SESSIONS_PER_USER", "8", 1);
	setenv("PERISCOPE_NODE_SHELL_MAX_SESSIONS_TOTAL", "80", 1);
	setenv("PERISCOPE_NODE_SHELL_STS_ENDPOINT", "https://127.0.0.1:1443", 1);
	setenv("PERISCOPE_NODE_SHELL_SSM_ENDPOINT", "https://127.0.0.1:2443", 1);
	setenv("PERISCOPE_NODE_SHELL_CA_FILE", "/tmp/ca.pem", 1);

	cfg = config_load(fixture("full.yaml"), err, sizeof err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(cfg->server.public_url, "http://localhost:9000/");
	assert_list(&cfg->server.allowed_origins, LIST("http://a.test", "http://b.test"));
	ck_assert_int_eq(cfg->server.workers, 16);
	ck_assert_str_eq(cfg->oidc.issuer, "https://login.microsoftonline.com/tenant/v2.0");
	ck_assert_str_eq(cfg->oidc.client_id, "env-client");
	ck_assert_str_eq(cfg->oidc.client_secret, "env-literal-secret");
	ck_assert_str_eq(cfg->oidc.redirect_url, "http://localhost:9000/api/auth/callback");
	ck_assert_int_eq(cfg->session.idle_timeout_s, 600);
	ck_assert_int_eq(cfg->session.absolute_timeout_s, 7200);
	ck_assert_int_eq(cfg->authz.mode, AUTHZ_RAW);
	ck_assert_str_eq(cfg->audit.db_path, "/tmp/env.db");
	ck_assert_int_eq(cfg->audit.retention_days, 7);
	ck_assert_int_eq(cfg->audit.max_size_mb, 0);
	ck_assert_int_eq(cfg->audit.vacuum_interval_s, 1800);
	ck_assert(!cfg->cluster_shell.enabled);
	ck_assert_str_eq(cfg->cluster_shell.mode, "bash");
	assert_list(&cfg->cluster_shell.tiers, LIST("write", "admin"));
	ck_assert_str_eq(cfg->cluster_shell.namespace_, "env-ns");
	ck_assert_int_eq(cfg->cluster_shell.timers.idle_seconds, 111);
	ck_assert_int_eq(cfg->cluster_shell.timers.idle_warn_seconds, 11);
	ck_assert_int_eq(cfg->cluster_shell.timers.heartbeat_seconds, 5);
	ck_assert_int_eq(cfg->cluster_shell.timers.max_duration_seconds, 0);
	ck_assert_int_eq(cfg->cluster_shell.pod_start_timeout_seconds, 99);
	ck_assert_int_eq(cfg->cluster_shell.token_refresh_check_seconds, 3);
	ck_assert(cfg->cluster_shell.transcript_max_bytes == 5000000000LL);
	ck_assert_int_eq(cfg->cluster_shell.max_sessions_per_user, 7);
	ck_assert_int_eq(cfg->cluster_shell.max_sessions_total, 70);
	ck_assert_str_eq(cfg->cluster_shell.image, "mirror.local/shell@sha256:abcd");
	ck_assert_str_eq(cfg->cluster_shell.image_pull_policy, "Never");
	ck_assert(!cfg->node_shell.enabled);
	ck_assert_str_eq(cfg->node_shell.aws_role_arn, "arn:aws:iam::999:role/env");
	ck_assert_str_eq(cfg->node_shell.oidc_audience, "env-aud");
	ck_assert_str_eq(cfg->node_shell.region, "ap-south-1");
	assert_list(&cfg->node_shell.tiers, LIST("read"));
	ck_assert_int_eq(cfg->node_shell.timers.idle_seconds, 222);
	ck_assert_int_eq(cfg->node_shell.timers.idle_warn_seconds, 22);
	ck_assert_int_eq(cfg->node_shell.timers.heartbeat_seconds, 2);
	ck_assert_int_eq(cfg->node_shell.timers.max_duration_seconds, 60);
	ck_assert_int_eq(cfg->node_shell.transcript_max_bytes, 1);
	ck_assert_int_eq(cfg->node_shell.max_sessions_per_user, 8);
	ck_assert_int_eq(cfg->node_shell.max_sessions_total, 80);
	ck_assert_str_eq(cfg->node_shell.sts_endpoint, "https://127.0.0.1:1443");
	ck_assert_str_eq(cfg->node_shell.ssm_endpoint, "https://127.0.0.1:2443");
	ck_assert_str_eq(cfg->node_shell.ca_file, "/tmp/ca.pem");
	/* Keys without a variable keep the file's value. */
	ck_assert_str_eq(cfg->oidc.provider_name, "Corp SSO");
	ck_assert_int_eq(cfg->session.refresh_before_s, 90);
	config_free(cfg);
}
END_TEST

START_TEST(env_booleans_accept_true_false_1_0_only)
{
	static const struct {
		const char *value;
		bool enabled;
	} ok[] = { { "true", true }, { "1", true }, { "false", false }, { "0", false } };
	char err[ERRLEN];
	struct config *cfg;

	set_required_oidc_env();
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		setenv("PERISCOPE_NODE_SHELL_ENABLED", ok[i].value, 1);
		cfg = config_load(NULL, err, sizeof err);
		ck_assert_msg(cfg != NULL, "%s", err);
		ck_assert(cfg->node_shell.enabled == ok[i].enabled);
		config_free(cfg);
	}
	setenv("PERISCOPE_NODE_SHELL_ENABLED", "yes", 1);
	ck_assert_ptr_null(config_load(NULL, err, sizeof err));
	ck_assert_str_eq(err, "PERISCOPE_NODE_SHELL_ENABLED: expected true, false, 1 or 0, got \"yes\"");
}
END_TEST

START_TEST(env_errors_name_the_variable)
{
	static const struct {
		const char *name, *value, *message;
	} cases[] = {
		{ "PERISCOPE_CLUSTER_SHELL_IDLE_SECONDS", "soon",
		  "PERISCOPE_CLUSTER_SHELL_IDLE_SECONDS: expected a positive integer, got \"soon\"" },
		{ "PERISCOPE_WORKERS", "12abc", "PERISCOPE_WORKERS: expected a positive integer, got \"12abc\"" },
		{ "PERISCOPE_WORKERS", "0", "PERISCOPE_WORKERS: expected a positive integer, got \"0\"" },
		{ "PERISCOPE_WORKERS", "99999999999", "PERISCOPE_WORKERS: expected a positive integer, got \"99999999999\"" },
		{ "PERISCOPE_AUDIT_RETENTION_DAYS", "-1",
		  "PERISCOPE_AUDIT_RETENTION_DAYS: expected a non-negative integer, got \"-1\"" },
		{ "PERISCOPE_CLUSTER_SHELL_TRANSCRIPT_MAX_BYTES", "0",
		  "PERISCOPE_CLUSTER_SHELL_TRANSCRIPT_MAX_BYTES: expected a positive integer, got \"0\"" },
		{ "PERISCOPE_NODE_SHELL_MAX_SESSIONS_TOTAL", "-3",
		  "PERISCOPE_NODE_SHELL_MAX_SESSIONS_TOTAL: expected a positive integer, got \"-3\"" },
		{ "PERISCOPE_AUTHZ_MODE", "admin",
		  "PERISCOPE_AUTHZ_MODE: expected shared, tier or raw, got \"admin\"" },
		{ "PERISCOPE_CLUSTER_SHELL_TIERS", "admin,root",
		  "PERISCOPE_CLUSTER_SHELL_TIERS: expected a comma list of tiers (read, triage, write, maintain, admin), got \"root\"" },
		{ "PERISCOPE_CLUSTER_SHELL_IMAGE_PULL_POLICY", "always",
		  "PERISCOPE_CLUSTER_SHELL_IMAGE_PULL_POLICY: expected Always, IfNotPresent or Never, got \"always\"" },
		{ "PERISCOPE_CLUSTER_SHELL_MODE", "kubectl-only",
		  "PERISCOPE_CLUSTER_SHELL_MODE: expected bash (kubectl-only is not implemented), got \"kubectl-only\"" },
		{ "PERISCOPE_SESSION_IDLE_TIMEOUT", "1.5h",
		  "PERISCOPE_SESSION_IDLE_TIMEOUT: expected a positive duration" },
		{ "PERISCOPE_PUBLIC_URL", "localhost:8080",
		  "PERISCOPE_PUBLIC_URL: expected an http:// or https:// URL, got \"localhost:8080\"" },
	};
	char err[ERRLEN];

	set_required_oidc_env();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		setenv(cases[i].name, cases[i].value, 1);
		ck_assert_msg(config_load(NULL, err, sizeof err) == NULL, "%s=%s loaded",
			      cases[i].name, cases[i].value);
		assert_contains(err, cases[i].message);
		unsetenv(cases[i].name);
	}
}
END_TEST

START_TEST(env_numbers_ignore_surrounding_blanks)
{
	char err[ERRLEN];
	struct config *cfg;

	set_required_oidc_env();
	setenv("PERISCOPE_WORKERS", " 6 ", 1);
	cfg = config_load(NULL, err, sizeof err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_int_eq(cfg->server.workers, 6);
	config_free(cfg);
}
END_TEST

START_TEST(durations_accept_seconds_and_units)
{
	static const struct {
		const char *text;
		int seconds;
	} cases[] = { { "90", 90 }, { "90s", 90 }, { "30m", 1800 }, { "8h", 28800 },
		      { "1h30m", 5400 }, { "1h0m5s", 3605 }, { "\"120\"", 120 } };
	char yaml[256], err[ERRLEN];

	set_required_oidc_env();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct config *cfg;

		snprintf(yaml, sizeof yaml, "auth:\n  session:\n    idleTimeout: %s\n", cases[i].text);
		cfg = load_inline(yaml, err);
		ck_assert_msg(cfg != NULL, "%s: %s", cases[i].text, err);
		ck_assert_int_eq(cfg->session.idle_timeout_s, cases[i].seconds);
		config_free(cfg);
	}
	expect_inline_error("auth:\n  session:\n    idleTimeout: 30m1h\n", err);
	ck_assert_str_eq(err, "inline.yaml:3: auth.session.idleTimeout: expected a positive "
			 "duration (seconds, or like \"90s\", \"30m\", \"8h\", \"1h30m\"), got \"30m1h\"");
	expect_inline_error("audit:\n  vacuumInterval: 0s\n", err);
	assert_contains(err, "inline.yaml:2: audit.vacuumInterval: expected a positive duration");
	expect_inline_error("auth:\n  session:\n    refreshBefore: 10d\n", err);
	assert_contains(err, "inline.yaml:3: auth.session.refreshBefore: expected a non-negative duration");
}
END_TEST

START_TEST(wrong_type_names_file_line_key_expected_and_found)
{
	char err[ERRLEN];

	ck_assert_ptr_null(config_load(fixture("bad-idle.yaml"), err, sizeof err));
	{
		char want[1100];

		snprintf(want, sizeof want, "%s:7: clusterShell.idleSeconds: expected a positive "
			 "integer, got \"soon\"", fixture("bad-idle.yaml"));
		ck_assert_str_eq(err, want);
	}
	expect_inline_error("server:\n  workers:\n    count: 4\n", err);
	ck_assert_str_eq(err, "inline.yaml:3: server.workers: expected a positive integer, got a mapping");
	expect_inline_error("server:\n  allowedOrigins: http://a.test\n", err);
	ck_assert_str_eq(err, "inline.yaml:2: server.allowedOrigins: expected a list of strings, got \"http://a.test\"");
	expect_inline_error("nodeShell:\n  enabled: yes\n", err);
	ck_assert_str_eq(err, "inline.yaml:2: nodeShell.enabled: expected true or false, got \"yes\"");
	expect_inline_error("clusterShell: [a]\n", err);
	ck_assert_str_eq(err, "inline.yaml:1: clusterShell: expected a mapping, got a sequence");
	expect_inline_error("server:\n  allowedOrigins:\n    - {a: b}\n", err);
	assert_contains(err, "inline.yaml:3: server.allowedOrigins[0]: expected a string, got a mapping");
	expect_inline_error("- a\n- b\n", err);
	assert_contains(err, "inline.yaml:1: expected a mapping of keys at the top level, got a sequence");
}
END_TEST

START_TEST(caps_must_be_positive)
{
	char err[ERRLEN];

	expect_inline_error("clusterShell:\n  transcriptMaxBytes: 0\n", err);
	ck_assert_str_eq(err, "inline.yaml:2: clusterShell.transcriptMaxBytes: expected a positive integer, got \"0\"");
	expect_inline_error("nodeShell:\n  transcriptMaxBytes: -5\n", err);
	ck_assert_str_eq(err, "inline.yaml:2: nodeShell.transcriptMaxBytes: expected a positive integer, got \"-5\"");
	expect_inline_error("clusterShell:\n  maxSessionsPerUser: 0\n", err);
	ck_assert_str_eq(err, "inline.yaml:2: clusterShell.maxSessionsPerUser: expected a positive integer, got \"0\"");
	expect_inline_error("nodeShell:\n  maxSessionsTotal: -1\n", err);
	ck_assert_str_eq(err, "inline.yaml:2: nodeShell.maxSessionsTotal: expected a positive integer, got \"-1\"");
	expect_inline_error("clusterShell:\n  maxSessionsTotal: 1e3\n", err);
	ck_assert_str_eq(err, "inline.yaml:2: clusterShell.maxSessionsTotal: expected a positive integer, got \"1e3\"");
}
END_TEST

START_TEST(wsbridge_log_is_syslog_stderr_or_an_absolute_path)
{
	char err[ERRLEN];
	struct config *cfg;

	set_required_oidc_env();
	cfg = load_inline("server:\n  publicURL: http://127.0.0.1:8080\n", err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(cfg->server.wsbridge_log, "syslog");
	config_free(cfg);
	cfg = load_inline("server:\n  wsbridgeLog: /var/lib/periscope/wsbridge.log\n", err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(cfg->server.wsbridge_log, "/var/lib/periscope/wsbridge.log");
	config_free(cfg);
	expect_inline_error("server:\n  wsbridgeLog: wsbridge.log\n", err);
	assert_contains(err, "server.wsbridgeLog: expected syslog, stderr or an absolute file path, got \"wsbridge.log\"");
}
END_TEST

START_TEST(yaml_syntax_error_names_line_and_problem)
{
	char err[ERRLEN], want[1100];

	ck_assert_ptr_null(config_load(fixture("syntax.yaml"), err, sizeof err));
	snprintf(want, sizeof want, "%s:4: YAML syntax error: ", fixture("syntax.yaml"));
	assert_contains(err, want);
	assert_contains(err, "did not find expected ',' or ']'");
	expect_inline_error("server:\n  workers: 4\n   publicURL: x: y\n", err);
	assert_contains(err, "inline.yaml:3: YAML syntax error: mapping values are not allowed");
	expect_inline_error("server: {}\n---\naudit: {}\n", err);
	ck_assert_str_eq(err, "inline.yaml:3: expected a single YAML document, found a second one");
}
END_TEST

START_TEST(unknown_keys_suggest_the_nearest)
{
	char err[ERRLEN], want[1100];

	ck_assert_ptr_null(config_load(fixture("typo.yaml"), err, sizeof err));
	snprintf(want, sizeof want, "%s:8: unknown key \"idleSecond\" in clusterShell (did you mean idleSeconds?)",
		 fixture("typo.yaml"));
	ck_assert_str_eq(err, want);
	expect_inline_error("auth:\n  oidc:\n    clientId: x\n", err);
	ck_assert_str_eq(err, "inline.yaml:3: unknown key \"clientId\" in auth.oidc (did you mean clientID?)");
	expect_inline_error("severs:\n  workers: 2\n", err);
	ck_assert_str_eq(err, "inline.yaml:1: unknown key \"severs\" at the top level (did you mean server?)");
	expect_inline_error("nodeShell:\n  plugin: /usr/bin/x\n", err);
	ck_assert_str_eq(err, "inline.yaml:2: unknown key \"plugin\" in nodeShell");
	expect_inline_error("clusters:\n  - name: a\n    kubeconfig: /x\n", err);
	ck_assert_str_eq(err, "inline.yaml:3: unknown key \"kubeconfig\" in clusters[0]");
	expect_inline_error("clusters:\n  - name: a\n    backnd: eks\n", err);
	ck_assert_str_eq(err, "inline.yaml:3: unknown key \"backnd\" in clusters[0] (did you mean backend?)");
}
END_TEST

START_TEST(duplicate_keys_and_aliases_are_refused)
{
	char err[ERRLEN];

	expect_inline_error("server:\n  workers: 2\n  workers: 3\n", err);
	ck_assert_str_eq(err, "inline.yaml:3: server.workers: key given twice in the same mapping");
	expect_inline_error("auth:\n  authorization:\n    groupTiers:\n      a: read\n      a: admin\n", err);
	assert_contains(err, "inline.yaml:5: auth.authorization.groupTiers: group \"a\" is listed twice");
	expect_inline_error("server:\n  allowedOrigins: &o [a]\nauth:\n  authorization:\n    allowedGroups: *o\n", err);
	assert_contains(err, "inline.yaml:2: auth.authorization.allowedGroups: YAML aliases are not supported");
	/* A self-referencing alias is a cycle in libyaml's tree. */
	expect_inline_error("clusters: &c\n  - *c\n", err);
	assert_contains(err, "YAML aliases are not supported");
}
END_TEST

START_TEST(invalid_tiers_modes_backends_and_pull_policies)
{
	char err[ERRLEN];

	expect_inline_error("auth:\n  authorization:\n    groupTiers:\n      sre: root\n", err);
	ck_assert_str_eq(err, "inline.yaml:4: auth.authorization.groupTiers.sre: expected a tier "
			 "(read, triage, write, maintain, admin), got \"root\"");
	expect_inline_error("auth:\n  authorization:\n    defaultTier: viewer\n", err);
	ck_assert_str_eq(err, "inline.yaml:3: auth.authorization.defaultTier: expected a tier "
			 "(read, triage, write, maintain, admin) or \"\", got \"viewer\"");
	expect_inline_error("clusterShell:\n  tiers: [admin, Admin]\n", err);
	ck_assert_str_eq(err, "inline.yaml:2: clusterShell.tiers[1]: expected a tier "
			 "(read, triage, write, maintain, admin), got \"Admin\"");
	expect_inline_error("auth:\n  authorization:\n    mode: tiers\n", err);
	ck_assert_str_eq(err, "inline.yaml:3: auth.authorization.mode: expected shared, tier or raw, got \"tiers\"");
	expect_inline_error("clusters:\n  - name: a\n  - name: b\n    backend: agents\n", err);
	ck_assert_str_eq(err, "inline.yaml:4: clusters[1].backend: expected eks, kubeconfig, in-cluster or agent, got \"agents\"");
	expect_inline_error("clusterShell:\n  image:\n    pullPolicy: IfNotPresnt\n", err);
	ck_assert_str_eq(err, "inline.yaml:3: clusterShell.image.pullPolicy: expected Always, "
			 "IfNotPresent or Never, got \"IfNotPresnt\"");
	expect_inline_error("clusterShell:\n  mode: kubectl-only\n", err);
	ck_assert_str_eq(err, "inline.yaml:2: clusterShell.mode: expected bash (kubectl-only is "
			 "not implemented), got \"kubectl-only\"");
}
END_TEST

START_TEST(cluster_entries_are_checked)
{
	char err[ERRLEN];

	expect_inline_error("clusters:\n  - name: a\n  - backend: in-cluster\n", err);
	ck_assert_str_eq(err, "inline.yaml:3: clusters[1].name: expected a cluster name (required), got nothing");
	expect_inline_error("clusters:\n  - name: prod\n  - name: prod\n    backend: in-cluster\n", err);
	ck_assert_str_eq(err, "inline.yaml:3: clusters[1].name: expected a unique name, got \"prod\" "
			 "again (already used by clusters[0])");
	expect_inline_error("clusters:\n  - name: Prod_EU\n", err);
	assert_contains(err, "inline.yaml:2: clusters[0].name: expected a name of lowercase letters, "
			"digits and '-' that starts and ends with a letter or digit");
	assert_contains(err, "got \"Prod_EU\"");
	expect_inline_error("clusters:\n  - name: prod-\n", err);
	assert_contains(err, "got \"prod-\"");
	expect_inline_error("clusters:\n  - name: lab\n    backend: kubeconfig\n", err);
	ck_assert_str_eq(err, "inline.yaml:2: clusters[0].kubeconfigPath: expected the path of a "
			 "kubeconfig file (required with backend kubeconfig), got nothing");
	expect_inline_error("clusters:\n  - name: lab\n    backend: kubeconfig\n    kubeconfigPath: \"\"\n", err);
	ck_assert_str_eq(err, "inline.yaml:4: clusters[0].kubeconfigPath: expected the path of a "
			 "kubeconfig file (required with backend kubeconfig), got \"\"");
	expect_inline_error("clusters:\n  - name: prod\n    arn: arn:aws:eks:eu-west-1:1:cluster/prod-2\n", err);
	ck_assert_str_eq(err, "inline.yaml:3: clusters[0].arn: expected an EKS cluster ARN ending in "
			 "\":cluster/prod\", got \"arn:aws:eks:eu-west-1:1:cluster/prod-2\"");
	expect_inline_error("clusters:\n  - name: prod\n    arn: arn:aws:eks:eu-west-1:1:prod\n", err);
	assert_contains(err, "clusters[0].arn: expected an EKS cluster ARN ending in \":cluster/prod\"");
	expect_inline_error("clusters:\n  - prod\n", err);
	ck_assert_str_eq(err, "inline.yaml:2: clusters[0]: expected a mapping with at least a name, got a scalar");
}
END_TEST

START_TEST(eks_keys_are_checked)
{
	char err[ERRLEN];
	struct config *cfg;

	set_required_oidc_env();
	cfg = load_inline("eks:\n  credentialSources: [irsa, instanceProfile]\n  endpoints:\n"
			  "    sts: https://sts.example.com\n    imds: http://127.0.0.1:9\n"
			  "clusters:\n  - name: prod\n    endpoint: https://prod.example.com\n"
			  "    certificateAuthorityData: LS0t\n", err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_uint_eq(cfg->eks.sources_count, 2);
	ck_assert_int_eq(cfg->eks.sources[0], CRED_IRSA);
	ck_assert_int_eq(cfg->eks.sources[1], CRED_INSTANCE_PROFILE);
	ck_assert_str_eq(cfg->eks.sts_endpoint, "https://sts.example.com");
	ck_assert_str_eq(cfg->eks.imds_endpoint, "http://127.0.0.1:9");
	ck_assert_str_eq(cfg->clusters[0].endpoint, "https://prod.example.com");
	ck_assert_str_eq(cfg->clusters[0].ca_data, "LS0t");
	config_free(cfg);
	cfg = load_inline("clusters: []\n", err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_uint_eq(cfg->eks.sources_count, 3);
	ck_assert_int_eq(cfg->eks.sources[0], CRED_POD_IDENTITY);
	ck_assert_str_eq(cfg->eks.imds_endpoint, "http://169.254.169.254");
	config_free(cfg);
	expect_inline_error("eks:\n  credentialSources: [env]\n", err);
	assert_contains(err, "eks.credentialSources: expected podIdentity, irsa or instanceProfile, got \"env\"");
	expect_inline_error("eks:\n  credentialSources: [irsa, irsa]\n", err);
	assert_contains(err, "eks.credentialSources: expected each source once, got \"irsa\" twice");
	expect_inline_error("eks:\n  credentialSources: []\n", err);
	assert_contains(err, "eks.credentialSources: expected 1 to 3 of podIdentity, irsa, instanceProfile, got 0 entries");
	expect_inline_error("clusters:\n  - name: prod\n    endpoint: https://prod.example.com\n", err);
	assert_contains(err, "clusters[0].certificateAuthorityData: expected endpoint and certificateAuthorityData together");
}
END_TEST

START_TEST(required_oidc_keys)
{
	char err[ERRLEN];
	struct config *cfg;

	cfg = config_load(NULL, err, sizeof err);
	ck_assert_ptr_null(cfg);
	ck_assert_str_eq(err, "auth.oidc.issuer: expected the issuer URL of the OIDC provider (required), got nothing");

	cfg = load_inline("auth:\n  oidc:\n    issuer: https://idp.test/\n    clientID: x\n", err);
	ck_assert_ptr_null(cfg);
	ck_assert_str_eq(err, "inline.yaml:2: auth.oidc.redirectURL: expected the OIDC redirect URL (required), got nothing");

	cfg = load_inline("auth:\n  oidc:\n    issuer: https://idp.test/\n    clientID: \"\"\n"
			  "    redirectURL: https://p.test/cb\n", err);
	ck_assert_ptr_null(cfg);
	ck_assert_str_eq(err, "inline.yaml:4: auth.oidc.clientID: expected the OIDC client ID (required), got \"\"");

	cfg = load_inline("server:\n  workers: 2\n", err);
	ck_assert_ptr_null(cfg);
	ck_assert_str_eq(err, "inline.yaml: auth.oidc.issuer: expected the issuer URL of the OIDC provider (required), got nothing");

	setenv("PERISCOPE_OIDC_ISSUER", "", 1);
	cfg = config_load(NULL, err, sizeof err);
	ck_assert_ptr_null(cfg);
	ck_assert_str_eq(err, "PERISCOPE_OIDC_ISSUER: expected the issuer URL of the OIDC provider (required), got \"\"");

	cfg = load_inline("auth:\n  oidc:\n    issuer: idp.test\n", err);
	ck_assert_ptr_null(cfg);
	ck_assert_str_eq(err, "inline.yaml:3: auth.oidc.issuer: expected an http:// or https:// URL, got \"idp.test\"");
}
END_TEST

START_TEST(client_secret_references_resolve)
{
	char err[ERRLEN], yaml[2048];
	struct config *cfg;

	set_required_oidc_env();
	cfg = load_inline("auth:\n  oidc:\n    clientSecret: plain-literal\n", err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(cfg->oidc.client_secret, "plain-literal");
	config_free(cfg);

	setenv("OIDC_CLIENT_SECRET", "from-env", 1);
	cfg = load_inline("auth:\n  oidc:\n    clientSecret: \"${OIDC_CLIENT_SECRET}\"\n", err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(cfg->oidc.client_secret, "from-env");
	config_free(cfg);

	snprintf(yaml, sizeof yaml, "auth:\n  oidc:\n    clientSecret: \"file:%s\"\n",
		 fixture("client-secret.txt"));
	cfg = load_inline(yaml, err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(cfg->oidc.client_secret, "s3cret-from-file");
	config_free(cfg);

	snprintf(yaml, sizeof yaml, "auth:\n  oidc:\n    clientSecret: \"file://%s\"\n",
		 fixture("client-secret.txt"));
	cfg = load_inline(yaml, err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(cfg->oidc.client_secret, "s3cret-from-file");
	config_free(cfg);

	/* The env variable takes references too. */
	snprintf(yaml, sizeof yaml, "file:%s", fixture("client-secret.txt"));
	setenv("PERISCOPE_OIDC_CLIENT_SECRET", yaml, 1);
	cfg = config_load(NULL, err, sizeof err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(cfg->oidc.client_secret, "s3cret-from-file");
	config_free(cfg);
}
END_TEST

/* database.url: the default is the SQLite file of audit.dbPath; sqlite:PATH names it (and
 * must agree with an explicit audit.dbPath); postgres URIs and libpq strings are parsed by
 * libpq; a password goes in database.password, resolved like other secrets. */
/* database.replicaId names this replica in the leases of its live terminals: given, a short
 * name; absent, the host's name (the same at every start). */
START_TEST(replica_id_is_checked_or_made_from_the_host)
{
	char err[ERRLEN], host[256] = "";
	struct config *cfg;

	set_required_oidc_env();
	ck_assert_int_eq(gethostname(host, sizeof host - 1), 0);
	cfg = load_inline("audit:\n  dbPath: /srv/p.db\n", err);
	ck_assert_msg(cfg != NULL, "%s", err);
	/* The host name first (this test host's is made of allowed characters). */
	ck_assert_msg(strncmp(cfg->database.replica_id, host, strlen(host) > 48 ? 48 : strlen(host)) == 0,
		      "%s does not start with %s", cfg->database.replica_id, host);
	ck_assert_int_le(strlen(cfg->database.replica_id), 64);
	config_free(cfg);

	cfg = load_inline("database:\n  replicaId: replica-a.eu:1\n", err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(cfg->database.replica_id, "replica-a.eu:1");
	config_free(cfg);
	setenv("PERISCOPE_REPLICA_ID", "b", 1);
	cfg = load_inline("database:\n  replicaId: replica-a\n", err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(cfg->database.replica_id, "b");
	config_free(cfg);
	unsetenv("PERISCOPE_REPLICA_ID");

	assert_contains(expect_inline_error("database:\n  replicaId: two words\n", err),
			"database.replicaId: expected 1 to 64 letters, digits, '.', '_', ':' or '-', got \"two words\"");
	assert_contains(expect_inline_error("database:\n  replicaId: "
					    "r12345678901234567890123456789012345678901234567890123456789012345\n", err),
			"database.replicaId: expected 1 to 64");
}
END_TEST

/* database.sweepInterval: how often periscope.fcgi's maintenance pass runs; 15 s unless
 * given, from 1 s to 30 s (a killed terminal's close row is due within a minute). */
START_TEST(sweep_interval_defaults_to_15s_and_is_bounded)
{
	char err[ERRLEN];
	struct config *cfg;

	set_required_oidc_env();
	cfg = load_inline("audit:\n  dbPath: /srv/p.db\n", err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_int_eq(cfg->database.sweep_interval_s, 15);
	config_free(cfg);

	cfg = load_inline("database:\n  sweepInterval: 2s\n", err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_int_eq(cfg->database.sweep_interval_s, 2);
	config_free(cfg);
	setenv("PERISCOPE_SWEEP_INTERVAL", "30", 1);
	cfg = load_inline("database:\n  sweepInterval: 2s\n", err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_int_eq(cfg->database.sweep_interval_s, 30);
	config_free(cfg);
	unsetenv("PERISCOPE_SWEEP_INTERVAL");

	assert_contains(expect_inline_error("database:\n  sweepInterval: 31s\n", err),
			"database.sweepInterval: expected 1s to 30s, got 31s");
	assert_contains(expect_inline_error("database:\n  sweepInterval: 1m\n", err),
			"database.sweepInterval: expected 1s to 30s, got 60s");
	assert_contains(expect_inline_error("database:\n  sweepInterval: 0s\n", err),
			"database.sweepInterval: expected a positive duration");
}
END_TEST

/* audit.refusalWindow: a minute unless given, from 5 s to an hour. */
START_TEST(refusal_window_defaults_to_a_minute_and_is_bounded)
{
	char err[ERRLEN];
	struct config *cfg;

	set_required_oidc_env();
	cfg = load_inline("audit:\n  dbPath: /srv/p.db\n", err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_int_eq(cfg->audit.refusal_window_s, 60);
	config_free(cfg);
	cfg = load_inline("audit:\n  refusalWindow: 10s\n", err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_int_eq(cfg->audit.refusal_window_s, 10);
	config_free(cfg);
	setenv("PERISCOPE_AUDIT_REFUSAL_WINDOW", "1h", 1);
	cfg = load_inline("audit:\n  refusalWindow: 10s\n", err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_int_eq(cfg->audit.refusal_window_s, 3600);
	config_free(cfg);
	unsetenv("PERISCOPE_AUDIT_REFUSAL_WINDOW");

	assert_contains(expect_inline_error("audit:\n  refusalWindow: 4s\n", err),
			"audit.refusalWindow: expected 5s to 3600s, got 4s");
	assert_contains(expect_inline_error("audit:\n  refusalWindow: 1h1s\n", err),
			"audit.refusalWindow: expected 5s to 3600s, got 3601s");
}
END_TEST

START_TEST(database_url_picks_the_engine)
{
	char err[ERRLEN];
	struct config *cfg;
	FILE *f;
	char secret_file[] = "/tmp/periscope-test-pgpass-XXXXXX";
	char yaml[512];
	int fd;

	set_required_oidc_env();
	cfg = load_inline("audit:\n  dbPath: /srv/p.db\n", err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_int_eq(cfg->database.engine, DATABASE_SQLITE);
	ck_assert_str_eq(cfg->database.url, "");
	ck_assert_str_eq(cfg->audit.db_path, "/srv/p.db");
	config_free(cfg);

	cfg = load_inline("database:\n  url: sqlite:/srv/other.db\n", err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_int_eq(cfg->database.engine, DATABASE_SQLITE);
	ck_assert_str_eq(cfg->audit.db_path, "/srv/other.db");
	config_free(cfg);

	cfg = load_inline("database:\n  url: postgres://periscope@db.example:5433/periscope?sslmode=verify-full\n", err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_int_eq(cfg->database.engine, DATABASE_POSTGRES);
	ck_assert_str_eq(cfg->database.url, "postgres://periscope@db.example:5433/periscope?sslmode=verify-full");
	ck_assert_str_eq(cfg->database.password, "");
	config_free(cfg);

	setenv("PERISCOPE_TEST_PG_PASSWORD", "pg-secret-1", 1);
	setenv("PERISCOPE_DATABASE_URL", "host=/run/postgresql dbname=periscope sslmode=disable", 1);
	cfg = load_inline("database:\n  password: \"${PERISCOPE_TEST_PG_PASSWORD}\"\n", err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_int_eq(cfg->database.engine, DATABASE_POSTGRES);
	ck_assert_str_eq(cfg->database.url, "host=/run/postgresql dbname=periscope sslmode=disable");
	ck_assert_str_eq(cfg->database.password, "pg-secret-1");
	config_free(cfg);
	unsetenv("PERISCOPE_DATABASE_URL");

	fd = mkstemp(secret_file);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	fputs("pg-secret-2\n", f);
	fclose(f);
	snprintf(yaml, sizeof yaml, "database:\n  url: postgres:///periscope\n  password: file:%s\n",
		 secret_file);
	cfg = load_inline(yaml, err);
	unlink(secret_file);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(cfg->database.password, "pg-secret-2");
	config_free(cfg);
	unsetenv("PERISCOPE_TEST_PG_PASSWORD");
}
END_TEST

START_TEST(database_url_errors_never_show_a_password)
{
	char err[ERRLEN];

	expect_inline_error("database:\n  url: mysql://db.example/periscope\n", err);
	ck_assert_str_eq(err, "inline.yaml:2: database.url: expected sqlite:/path, postgres://... "
			 "or a libpq connection string (host=... dbname=...)");
	expect_inline_error("database:\n  url: sqlite:relative.db\n", err);
	ck_assert_str_eq(err, "inline.yaml:2: database.url: expected sqlite:/absolute/path, got "
			 "\"sqlite:relative.db\"");
	expect_inline_error("audit:\n  dbPath: /srv/a.db\ndatabase:\n  url: sqlite:/srv/b.db\n", err);
	ck_assert_str_eq(err, "inline.yaml:4: database.url: names the SQLite file /srv/b.db but "
			 "audit.dbPath names /srv/a.db: give one of them");
	expect_inline_error("database:\n  url: postgres://periscope:hunter2@db.example/p\n", err);
	ck_assert_str_eq(err, "inline.yaml:2: database.url: expected no password in the URL: give "
			 "it in database.password (\"${ENV_VAR}\" or \"file:/path\")");
	expect_inline_error("database:\n  url: host=db.example password=hunter2 dbname=p\n", err);
	ck_assert_ptr_null(strstr(err, "hunter2"));
	assert_contains(err, "expected no password in the URL");
	/* libpq percent-decodes a URI's query keywords: the parse is checked, not only the text. */
	expect_inline_error("database:\n  url: postgres://periscope@db.example/p?p%61ssword=hunter2\n",
			    err);
	ck_assert_str_eq(err, "inline.yaml:2: database.url: expected no password in the URL: give "
			 "it in database.password (\"${ENV_VAR}\" or \"file:/path\")");
	expect_inline_error("database:\n  url: postgres://db.example/p?sslp%61ssword=hunter2\n", err);
	ck_assert_ptr_null(strstr(err, "hunter2"));
	assert_contains(err, "expected no password in the URL");
	expect_inline_error("database:\n  url: host=db.example sslmod=require\n", err);
	ck_assert_str_eq(err, "inline.yaml:2: database.url: expected a PostgreSQL connection "
			 "string: invalid connection option \"sslmod\"");
	expect_inline_error("database:\n  url: sqlite:/srv/p.db\n  password: hunter2\n", err);
	ck_assert_str_eq(err, "inline.yaml:3: database.password: expected no password for a "
			 "SQLite database");
	expect_inline_error("database:\n  url: postgres:///p\n  password: \"${NO_SUCH_PG_VAR}\"\n", err);
	ck_assert_str_eq(err, "inline.yaml:3: database.password: expected the environment variable "
			 "NO_SUCH_PG_VAR to hold the database password, but it is not set");
}
END_TEST

START_TEST(client_secret_errors_never_show_the_secret)
{
	char err[ERRLEN];
	struct config *cfg;

	set_required_oidc_env();
	expect_inline_error("auth:\n  oidc:\n    clientSecret: \"${NO_SUCH_SECRET_VAR}\"\n", err);
	ck_assert_str_eq(err, "inline.yaml:3: auth.oidc.clientSecret: expected the environment "
			 "variable NO_SUCH_SECRET_VAR to hold the client secret, but it is not set");
	expect_inline_error("auth:\n  oidc:\n    clientSecret: file:/nonexistent/periscope-secret\n", err);
	ck_assert_str_eq(err, "inline.yaml:3: auth.oidc.clientSecret: expected a readable secret "
			 "file, cannot read /nonexistent/periscope-secret: No such file or directory");
	expect_inline_error("auth:\n  oidc:\n    clientSecret: file:relative/secret\n", err);
	ck_assert_str_eq(err, "inline.yaml:3: auth.oidc.clientSecret: expected file:/absolute/path for a secret file");

	setenv("PERISCOPE_OIDC_CLIENT_SECRET", "${ALSO_MISSING}", 1);
	cfg = config_load(NULL, err, sizeof err);
	ck_assert_ptr_null(cfg);
	ck_assert_str_eq(err, "PERISCOPE_OIDC_CLIENT_SECRET: expected the environment variable "
			 "ALSO_MISSING to hold the client secret, but it is not set");

	/* A resolved secret never reaches a later message. */
	setenv("PERISCOPE_OIDC_CLIENT_SECRET", "${OIDC_CLIENT_SECRET}", 1);
	setenv("OIDC_CLIENT_SECRET", "hunter2-topsecret", 1);
	cfg = load_inline("clusters:\n  - name: x\n    backend: kubeconfig\n", err);
	ck_assert_ptr_null(cfg);
	assert_contains(err, "clusters[0].kubeconfigPath");
	ck_assert_ptr_null(strstr(err, "hunter2"));
}
END_TEST

START_TEST(provider_name_is_guessed_from_the_issuer)
{
	static const struct {
		const char *issuer, *name;
	} cases[] = {
		{ "https://corp.eu.auth0.com/", "Auth0" },
		{ "https://corp.okta.com/oauth2/default", "Okta" },
		{ "https://corp.oktapreview.com", "Okta" },
		{ "https://login.microsoftonline.com/tid/v2.0", "Microsoft Entra" },
		{ "https://accounts.google.com", "Google" },
		{ "https://sso.corp.test/realms/ops", "Keycloak" },
		{ "http://127.0.0.1:9000/", "OIDC" },
		{ "https://notokta.com.evil.test/", "OIDC" },
	};
	char err[ERRLEN];

	set_required_oidc_env();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct config *cfg;

		setenv("PERISCOPE_OIDC_ISSUER", cases[i].issuer, 1);
		cfg = config_load(NULL, err, sizeof err);
		ck_assert_msg(cfg != NULL, "%s", err);
		ck_assert_str_eq(cfg->oidc.provider_name, cases[i].name);
		config_free(cfg);
	}
}
END_TEST

START_TEST(post_logout_redirect_defaults_to_public_url)
{
	char err[ERRLEN];
	struct config *cfg;

	set_required_oidc_env();
	setenv("PERISCOPE_PUBLIC_URL", "https://periscope.corp.test/", 1);
	cfg = config_load(NULL, err, sizeof err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(cfg->oidc.post_logout_redirect, "https://periscope.corp.test/?signedOut=1");
	config_free(cfg);
}
END_TEST

START_TEST(shell_image_from_repository_tag_or_env)
{
	char err[ERRLEN];
	struct config *cfg;

	set_required_oidc_env();
	cfg = load_inline("clusterShell:\n  image:\n    repository: mirror.test/shell\n", err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(cfg->cluster_shell.image, "mirror.test/shell:0.1.0");
	config_free(cfg);

	cfg = load_inline("clusterShell:\n  image:\n    tag: \"1.2\"\n", err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(cfg->cluster_shell.image, "ghcr.io/gnana997/periscope-shell:1.2");
	config_free(cfg);

	setenv("PERISCOPE_CLUSTER_SHELL_IMAGE", "env.test/shell:7", 1);
	cfg = load_inline("clusterShell:\n  image:\n    tag: \"1.2\"\n", err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(cfg->cluster_shell.image, "env.test/shell:7");
	config_free(cfg);

	setenv("PERISCOPE_CLUSTER_SHELL_IMAGE", "", 1);
	setenv("PERISCOPE_CLUSTER_SHELL_ENABLED", "true", 1);
	setenv("PERISCOPE_AUTHZ_MODE", "tier", 1);
	ck_assert_ptr_null(config_load(NULL, err, sizeof err));
	ck_assert_str_eq(err, "PERISCOPE_CLUSTER_SHELL_IMAGE: expected an image reference when "
			 "clusterShell.enabled is true (required), got \"\"");
}
END_TEST

START_TEST(enabled_shells_need_tiers)
{
	char err[ERRLEN];

	expect_inline_error("auth:\n  authorization:\n    mode: tier\nclusterShell:\n  enabled: true\n  tiers: []\n", err);
	ck_assert_str_eq(err, "inline.yaml:6: clusterShell.tiers: expected at least one tier when "
			 "clusterShell.enabled is true, got none");
	setenv("PERISCOPE_NODE_SHELL_ENABLED", "1", 1);
	setenv("PERISCOPE_NODE_SHELL_TIERS", " , ", 1);
	expect_inline_error("server: {}\n", err);
	ck_assert_str_eq(err, "PERISCOPE_NODE_SHELL_TIERS: expected at least one tier when "
			 "nodeShell.enabled is true, got none");
}
END_TEST

/* Runs a load with stderr captured into buf; returns the config. */
static struct config *load_capturing_stderr(const char *yaml, char *err, char *buf, size_t buflen)
{
	char tmpl[] = "/tmp/periscope-test-stderr-XXXXXX";
	int fd = mkstemp(tmpl), saved = dup(STDERR_FILENO);
	struct config *cfg;
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(saved, 0);
	unlink(tmpl);
	ck_assert_int_ge(dup2(fd, STDERR_FILENO), 0);
	cfg = load_inline(yaml, err);
	ck_assert_int_ge(dup2(saved, STDERR_FILENO), 0);
	close(saved);
	n = pread(fd, buf, buflen - 1, 0);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return cfg;
}

START_TEST(shell_without_tier_mode_loads_with_a_warning)
{
	char err[ERRLEN], logged[4096];
	struct config *cfg;

	set_required_oidc_env();
	cfg = load_capturing_stderr("clusterShell:\n  enabled: true\n", err, logged, sizeof logged);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert(cfg->cluster_shell.enabled);
	ck_assert_int_eq(cfg->authz.mode, AUTHZ_SHARED);
	assert_contains(logged, "\"level\":\"warn\"");
	assert_contains(logged, "clusterShell.enabled is true but auth.authorization.mode is shared");
	assert_contains(logged, "E_CLUSTER_SHELL_REQUIRES_TIER");
	config_free(cfg);

	cfg = load_capturing_stderr("auth:\n  authorization:\n    mode: tier\nclusterShell:\n  enabled: true\n",
				    err, logged, sizeof logged);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_ptr_null(strstr(logged, "E_CLUSTER_SHELL_REQUIRES_TIER"));
	config_free(cfg);
}
END_TEST

START_TEST(clusters_file_replaces_the_list)
{
	char err[ERRLEN];
	struct config *cfg;

	setenv("PERISCOPE_TEST_CLIENT_SECRET", "x", 1);
	setenv("PERISCOPE_CLUSTERS_FILE", fixture("clusters.yaml"), 1);
	cfg = config_load(fixture("full.yaml"), err, sizeof err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_uint_eq(cfg->clusters_count, 2);
	ck_assert_str_eq(cfg->clusters[0].name, "staging");
	ck_assert_str_eq(cfg->clusters[0].region, "us-west-2");
	ck_assert_str_eq(cfg->clusters[1].kubeconfig_context, "kind-kind");
	ck_assert_ptr_null(config_find_cluster(cfg, "prod-eu"));
	config_free(cfg);

	set_required_oidc_env();
	cfg = config_load(NULL, err, sizeof err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_uint_eq(cfg->clusters_count, 2);
	config_free(cfg);
}
END_TEST

START_TEST(clusters_file_errors_name_that_file)
{
	char err[ERRLEN], want[1100];

	set_required_oidc_env();
	setenv("PERISCOPE_CLUSTERS_FILE", fixture("clusters-extra-key.yaml"), 1);
	ck_assert_ptr_null(config_load(NULL, err, sizeof err));
	snprintf(want, sizeof want, "%s:3: unknown key \"server\" at the top level",
		 fixture("clusters-extra-key.yaml"));
	ck_assert_str_eq(err, want);

	setenv("PERISCOPE_CLUSTERS_FILE", "/nonexistent/clusters.yaml", 1);
	ck_assert_ptr_null(config_load(NULL, err, sizeof err));
	ck_assert_str_eq(err, "PERISCOPE_CLUSTERS_FILE: cannot read /nonexistent/clusters.yaml: "
			 "No such file or directory");
}
END_TEST

START_TEST(missing_config_file)
{
	char err[ERRLEN];

	ck_assert_ptr_null(config_load("/nonexistent/periscope.yaml", err, sizeof err));
	ck_assert_str_eq(err, "/nonexistent/periscope.yaml: cannot read the configuration: "
			 "No such file or directory");
}
END_TEST

START_TEST(null_values_keep_defaults_and_empty_file_is_fine)
{
	char err[ERRLEN];
	struct config *cfg;

	set_required_oidc_env();
	cfg = load_inline("server:\n  workers:\n  allowedOrigins: ~\naudit: null\n", err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_int_eq(cfg->server.workers, 4);
	ck_assert_int_eq(cfg->audit.retention_days, 30);
	config_free(cfg);

	cfg = load_inline("", err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(cfg->source_path, "inline.yaml");
	config_free(cfg);

	cfg = load_inline("# only a comment\n", err);
	ck_assert_msg(cfg != NULL, "%s", err);
	config_free(cfg);
}
END_TEST

START_TEST(helpers)
{
	struct string_list l = { 0 };

	ck_assert(!string_list_contains(&l, "a"));
	ck_assert(!string_list_contains(NULL, "a"));
	ck_assert_int_eq(string_list_append(&l, "admin"), 0);
	ck_assert_int_eq(string_list_append(&l, "write"), 0);
	ck_assert(string_list_contains(&l, "write"));
	ck_assert(!string_list_contains(&l, "writ"));
	string_list_clear(&l);

	ck_assert_str_eq(authz_mode_name(AUTHZ_SHARED), "shared");
	ck_assert_str_eq(authz_mode_name(AUTHZ_TIER), "tier");
	ck_assert_str_eq(authz_mode_name(AUTHZ_RAW), "raw");
	ck_assert_str_eq(cluster_backend_name(BACKEND_EKS), "eks");
	ck_assert_str_eq(cluster_backend_name(BACKEND_KUBECONFIG), "kubeconfig");
	ck_assert_str_eq(cluster_backend_name(BACKEND_IN_CLUSTER), "in-cluster");
	ck_assert_ptr_null(config_find_cluster(NULL, "x"));
	config_free(NULL);

	ck_assert_uint_eq(cfg_edit_distance("idleSecond", "idleSeconds", 2), 1);
	ck_assert_uint_eq(cfg_edit_distance("kitten", "sitting", 5), 3);
	ck_assert_uint_eq(cfg_edit_distance("abc", "xyzxyz", 2), 3);
}
END_TEST

START_TEST(messages_quote_and_shorten_odd_values)
{
	char err[ERRLEN];

	expect_inline_error("server:\n  workers: \"a\\tb\\\"c\"\n", err);
	ck_assert_str_eq(err, "inline.yaml:2: server.workers: expected a positive integer, got \"a\\x09b\\\"c\"");
	expect_inline_error("server:\n  workers: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n", err);
	assert_contains(err, "xxxx...\"");
	ck_assert_uint_lt(strlen(err), 200);
}
END_TEST

/* The seeds' multi-account example (node-shell-ssm.txt §5): an agent cluster with its own
 * node-shell role; and the agents block. */
START_TEST(agent_clusters_and_the_agents_block_load)
{
	static const char yaml[] =
		"agents:\n"
		"  tunnelPortBase: 48000\n"
		"  maxStreams: 8\n"
		"clusters:\n"
		"  - name: prod-eu\n"
		"    backend: agent\n"
		"    nodeShell:\n"
		"      awsRoleArn: \"arn:aws:iam::222233334444:role/periscope-node-shell\"\n"
		"      oidcAudience: \"periscope\"\n"
		"      region: \"eu-west-1\"\n";
	char err[ERRLEN];
	struct config *cfg;

	set_required_oidc_env();
	cfg = load_inline(yaml, err);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_int_eq(cfg->clusters[0].backend, BACKEND_AGENT);
	ck_assert_str_eq(cluster_backend_name(cfg->clusters[0].backend), "agent");
	ck_assert_str_eq(cfg->clusters[0].node_shell.aws_role_arn,
			 "arn:aws:iam::222233334444:role/periscope-node-shell");
	ck_assert_int_eq(cfg->agents.tunnel_port_base, 48000);
	ck_assert_int_eq(cfg->agents.max_streams, 8);
	ck_assert_int_eq(cfg->agents.token_ttl_s, 900);
	ck_assert_str_eq(cfg->agents.tunnel_path, "/agent/tunnel");
	config_free(cfg);
	expect_inline_error("agents:\n  tunnelPortBase: 70000\n", err);
	ck_assert_str_eq(err, "inline.yaml:2: agents.tunnelPortBase: expected a port number from "
			 "1024 to 65535, got 70000");
	expect_inline_error("agents:\n  hostKeyFile: /var/lib/periscope/agent-ssh/host_key\n", err);
	assert_contains(err, "agents.hostKeyFile: expected the absolute path of a public key file");
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *load = tcase_create("load"), *errors = tcase_create("errors"),
	      *env = tcase_create("env");

	tcase_add_checked_fixture(load, clear_env, NULL);
	tcase_add_checked_fixture(errors, clear_env, NULL);
	tcase_add_checked_fixture(env, clear_env, NULL);

	tcase_add_test(load, defaults_without_a_file);
	tcase_add_test(load, full_file_reads_back_every_key);
	tcase_add_test(load, path_null_reads_PERISCOPE_CONFIG);
	tcase_add_test(load, example_file_loads);
	tcase_add_test(load, agent_clusters_and_the_agents_block_load);
	tcase_add_test(load, durations_accept_seconds_and_units);
	tcase_add_test(load, client_secret_references_resolve);
	tcase_add_test(load, provider_name_is_guessed_from_the_issuer);
	tcase_add_test(load, post_logout_redirect_defaults_to_public_url);
	tcase_add_test(load, shell_image_from_repository_tag_or_env);
	tcase_add_test(load, shell_without_tier_mode_loads_with_a_warning);
	tcase_add_test(load, clusters_file_replaces_the_list);
	tcase_add_test(load, null_values_keep_defaults_and_empty_file_is_fine);
	tcase_add_test(load, helpers);
	tcase_add_test(load, database_url_picks_the_engine);
	tcase_add_test(load, replica_id_is_checked_or_made_from_the_host);
	tcase_add_test(load, sweep_interval_defaults_to_15s_and_is_bounded);
	tcase_add_test(load, refusal_window_defaults_to_a_minute_and_is_bounded);

	tcase_add_test(env, env_table_matches_example_comments);
	tcase_add_test(env, every_env_var_overrides_the_file);
	tcase_add_test(env, env_booleans_accept_true_false_1_0_only);
	tcase_add_test(env, env_errors_name_the_variable);
	tcase_add_test(env, env_numbers_ignore_surrounding_blanks);

	tcase_add_test(errors, wrong_type_names_file_line_key_expected_and_found);
	tcase_add_test(errors, caps_must_be_positive);
	tcase_add_test(errors, wsbridge_log_is_syslog_stderr_or_an_absolute_path);
	tcase_add_test(errors, yaml_syntax_error_names_line_and_problem);
	tcase_add_test(errors, unknown_keys_suggest_the_nearest);
	tcase_add_test(errors, duplicate_keys_and_aliases_are_refused);
	tcase_add_test(errors, invalid_tiers_modes_backends_and_pull_policies);
	tcase_add_test(errors, cluster_entries_are_checked);
	tcase_add_test(errors, required_oidc_keys);
	tcase_add_test(errors, client_secret_errors_never_show_the_secret);
	tcase_add_test(errors, enabled_shells_need_tiers);
	tcase_add_test(errors, clusters_file_errors_name_that_file);
	tcase_add_test(errors, missing_config_file);
	tcase_add_test(errors, eks_keys_are_checked);
	tcase_add_test(errors, messages_quote_and_shorten_odd_values);
	tcase_add_test(errors, database_url_errors_never_show_a_password);

	suite_add_tcase(s, load);
	suite_add_tcase(s, errors);
	suite_add_tcase(s, env);
	return s;
}

UNIT_MAIN(config_suite)
