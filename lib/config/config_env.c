/* Environment overrides: every PERISCOPE_* variable named in the comments of
 * conf/periscope.example.yaml replaces its key. Values parse like the YAML scalars of the
 * same key; lists are comma separated (blanks around items and empty items dropped). */
#include "config/config_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/tiers.h"

#define E(name, path, type, member) { name, path, type, offsetof(struct config, member) }

const struct cfg_env_var cfg_env_vars[] = {
	E("PERISCOPE_PUBLIC_URL", "server.publicURL", CFG_URL, server.public_url),
	E("PERISCOPE_ALLOWED_ORIGINS", "server.allowedOrigins", CFG_STRING_LIST, server.allowed_origins),
	E("PERISCOPE_WORKERS", "server.workers", CFG_POS_INT, server.workers),
	E("PERISCOPE_WSBRIDGE_LOG", "server.wsbridgeLog", CFG_STRING, server.wsbridge_log),
	E("PERISCOPE_METRICS_ALLOWED_NETWORKS", "metrics.allowedNetworks", CFG_STRING_LIST, metrics.allowed_networks),
	E("PERISCOPE_METRICS_BEARER_TOKEN", "metrics.bearerToken", CFG_STRING, metrics.bearer_token),

	E("PERISCOPE_OIDC_ISSUER", "auth.oidc.issuer", CFG_URL, oidc.issuer),
	E("PERISCOPE_OIDC_CLIENT_ID", "auth.oidc.clientID", CFG_STRING, oidc.client_id),
	E("PERISCOPE_OIDC_CLIENT_SECRET", "auth.oidc.clientSecret", CFG_STRING, oidc.client_secret),
	E("PERISCOPE_OIDC_REDIRECT_URL", "auth.oidc.redirectURL", CFG_URL, oidc.redirect_url),
	E("PERISCOPE_SESSION_IDLE_TIMEOUT", "auth.session.idleTimeout", CFG_POS_DURATION, session.idle_timeout_s),
	E("PERISCOPE_SESSION_ABSOLUTE_TIMEOUT", "auth.session.absoluteTimeout", CFG_POS_DURATION, session.absolute_timeout_s),
	E("PERISCOPE_AUTHZ_MODE", "auth.authorization.mode", CFG_AUTHZ_MODE, authz.mode),

	E("PERISCOPE_AUDIT_DB_PATH", "audit.dbPath", CFG_STRING, audit.db_path),
	E("PERISCOPE_AUDIT_RETENTION_DAYS", "audit.retentionDays", CFG_NONNEG_INT, audit.retention_days),
	E("PERISCOPE_AUDIT_MAX_SIZE_MB", "audit.maxSizeMB", CFG_NONNEG_INT, audit.max_size_mb),
	E("PERISCOPE_AUDIT_VACUUM_INTERVAL", "audit.vacuumInterval", CFG_POS_DURATION, audit.vacuum_interval_s),
	E("PERISCOPE_AUDIT_REFUSAL_WINDOW", "audit.refusalWindow", CFG_POS_DURATION, audit.refusal_window_s),

	E("PERISCOPE_DATABASE_URL", "database.url", CFG_STRING, database.url),
	E("PERISCOPE_DATABASE_PASSWORD", "database.password", CFG_STRING, database.password),
	E("PERISCOPE_REPLICA_ID", "database.replicaId", CFG_STRING, database.replica_id),
	E("PERISCOPE_SWEEP_INTERVAL", "database.sweepInterval", CFG_POS_DURATION, database.sweep_interval_s),

	E("PERISCOPE_RECORDING_ENABLED", "recording.enabled", CFG_BOOL, recording.enabled),
	E("PERISCOPE_RECORDING_DIR", "recording.dir", CFG_STRING, recording.dir),
	E("PERISCOPE_RECORDING_MAX_BYTES", "recording.maxBytes", CFG_POS_INT64, recording.max_bytes),
	E("PERISCOPE_RECORDING_INPUT", "recording.input", CFG_BOOL, recording.input),

	E("PERISCOPE_CLUSTER_SHELL_ENABLED", "clusterShell.enabled", CFG_BOOL, cluster_shell.enabled),
	E("PERISCOPE_CLUSTER_SHELL_MODE", "clusterShell.mode", CFG_SHELL_MODE, cluster_shell.mode),
	E("PERISCOPE_CLUSTER_SHELL_TIERS", "clusterShell.tiers", CFG_TIER_LIST, cluster_shell.tiers),
	E("PERISCOPE_CLUSTER_SHELL_NAMESPACE", "clusterShell.namespace", CFG_STRING, cluster_shell.namespace_),
	E("PERISCOPE_CLUSTER_SHELL_IDLE_SECONDS", "clusterShell.idleSeconds", CFG_POS_INT, cluster_shell.timers.idle_seconds),
	E("PERISCOPE_CLUSTER_SHELL_IDLE_WARN_SECONDS", "clusterShell.idleWarnSeconds", CFG_POS_INT, cluster_shell.timers.idle_warn_seconds),
	E("PERISCOPE_CLUSTER_SHELL_HEARTBEAT_SECONDS", "clusterShell.heartbeatSeconds", CFG_POS_INT, cluster_shell.timers.heartbeat_seconds),
	E("PERISCOPE_CLUSTER_SHELL_MAX_DURATION_SECONDS", "clusterShell.maxDurationSeconds", CFG_NONNEG_INT, cluster_shell.timers.max_duration_seconds),
	E("PERISCOPE_CLUSTER_SHELL_UPSTREAM_PING_SECONDS", "clusterShell.upstreamPingSeconds", CFG_POS_INT, cluster_shell.timers.upstream_ping_seconds),
	E("PERISCOPE_CLUSTER_SHELL_POD_START_TIMEOUT_SECONDS", "clusterShell.podStartTimeoutSeconds", CFG_POS_INT, cluster_shell.pod_start_timeout_seconds),
	E("PERISCOPE_CLUSTER_SHELL_TOKEN_REFRESH_CHECK_SECONDS", "clusterShell.tokenRefreshCheckSeconds", CFG_POS_INT, cluster_shell.token_refresh_check_seconds),
	E("PERISCOPE_CLUSTER_SHELL_TRANSCRIPT_MAX_BYTES", "clusterShell.transcriptMaxBytes", CFG_POS_INT64, cluster_shell.transcript_max_bytes),
	E("PERISCOPE_CLUSTER_SHELL_MAX_SESSIONS_PER_USER", "clusterShell.maxSessionsPerUser", CFG_POS_INT, cluster_shell.max_sessions_per_user),
	E("PERISCOPE_CLUSTER_SHELL_MAX_SESSIONS_TOTAL", "clusterShell.maxSessionsTotal", CFG_POS_INT, cluster_shell.max_sessions_total),
	E("PERISCOPE_CLUSTER_SHELL_IMAGE", "clusterShell.image", CFG_STRING, cluster_shell.image),
	E("PERISCOPE_CLUSTER_SHELL_IMAGE_PULL_POLICY", "clusterShell.image.pullPolicy", CFG_PULL_POLICY, cluster_shell.image_pull_policy),

	E("PERISCOPE_NODE_SHELL_ENABLED", "nodeShell.enabled", CFG_BOOL, node_shell.enabled),
	E("PERISCOPE_NODE_SHELL_ROLE_ARN", "nodeShell.awsRoleArn", CFG_STRING, node_shell.aws_role_arn),
	E("PERISCOPE_NODE_SHELL_OIDC_AUDIENCE", "nodeShell.oidcAudience", CFG_STRING, node_shell.oidc_audience),
	E("PERISCOPE_NODE_SHELL_REGION", "nodeShell.region", CFG_STRING, node_shell.region),
	E("PERISCOPE_NODE_SHELL_TIERS", "nodeShell.tiers", CFG_TIER_LIST, node_shell.tiers),
	E("PERISCOPE_NODE_SHELL_IDLE_SECONDS", "nodeShell.idleSeconds", CFG_POS_INT, node_shell.timers.idle_seconds),
	E("PERISCOPE_NODE_SHELL_IDLE_WARN_SECONDS", "nodeShell.idleWarnSeconds", CFG_POS_INT, node_shell.timers.idle_warn_seconds),
	E("PERISCOPE_NODE_SHELL_HEARTBEAT_SECONDS", "nodeShell.heartbeatSeconds", CFG_POS_INT, node_shell.timers.heartbeat_seconds),
	E("PERISCOPE_NODE_SHELL_MAX_DURATION_SECONDS", "nodeShell.maxDurationSeconds", CFG_NONNEG_INT, node_shell.timers.max_duration_seconds),
	E("PERISCOPE_NODE_SHELL_UPSTREAM_PING_SECONDS", "nodeShell.upstreamPingSeconds", CFG_POS_INT, node_shell.timers.upstream_ping_seconds),
	E("PERISCOPE_NODE_SHELL_TRANSCRIPT_MAX_BYTES", "nodeShell.transcriptMaxBytes", CFG_POS_INT64, node_shell.transcript_max_bytes),
	E("PERISCOPE_NODE_SHELL_MAX_SESSIONS_PER_USER", "nodeShell.maxSessionsPerUser", CFG_POS_INT, node_shell.max_sessions_per_user),
	E("PERISCOPE_NODE_SHELL_MAX_SESSIONS_TOTAL", "nodeShell.maxSessionsTotal", CFG_POS_INT, node_shell.max_sessions_total),
	E("PERISCOPE_NODE_SHELL_MAX_CREDENTIAL_SECONDS", "nodeShell.maxCredentialSeconds", CFG_POS_INT, node_shell.max_credential_seconds),
	E("PERISCOPE_NODE_SHELL_STS_ENDPOINT", "nodeShell.endpoints.sts", CFG_URL, node_shell.sts_endpoint),
	E("PERISCOPE_NODE_SHELL_SSM_ENDPOINT", "nodeShell.endpoints.ssm", CFG_URL, node_shell.ssm_endpoint),
	E("PERISCOPE_NODE_SHELL_KMS_ENDPOINT", "nodeShell.endpoints.kms", CFG_URL, node_shell.kms_endpoint),
	E("PERISCOPE_NODE_SHELL_CA_FILE", "nodeShell.endpoints.caFile", CFG_STRING, node_shell.ca_file),
};

#undef E

const size_t cfg_env_vars_count = sizeof cfg_env_vars / sizeof cfg_env_vars[0];

static void fail_value(struct cfg_loader *ld, const struct cfg_env_var *v, const char *what,
		       const char *value)
{
	char got[160];

	cfg_quote(value, got, sizeof got);
	cfg_fail_at(ld, NULL, 0, v->name, "expected %s, got %s", what, got);
}

/* "a, b,,c" -> [a, b, c]. */
static int apply_list(struct cfg_loader *ld, const struct cfg_env_var *v, const char *value,
		      struct string_list *list)
{
	const char *p = value;

	string_list_clear(list);
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char *item;
		enum tier tier;

		while (len && isspace((unsigned char)*p)) {
			p++;
			len--;
		}
		while (len && isspace((unsigned char)p[len - 1]))
			len--;
		item = strndup(p, len);
		if (!item)
			goto oom;
		if (*item && v->type == CFG_TIER_LIST && tier_parse(item, &tier) != 0) {
			fail_value(ld, v, "a comma list of tiers (read, triage, write, maintain, admin)", item);
			free(item);
			return -1;
		}
		if (*item && string_list_append(list, item) != 0) {
			free(item);
			goto oom;
		}
		free(item);
		if (!end)
			break;
		p = end + 1;
	}
	return 0;
oom:
	cfg_fail_at(ld, NULL, 0, NULL, "out of memory");
	return -1;
}

int cfg_env_apply(struct cfg_loader *ld)
{
	for (size_t i = 0; i < cfg_env_vars_count; i++) {
		const struct cfg_env_var *v = &cfg_env_vars[i];
		const char *value = getenv(v->name);
		void *dst = (char *)ld->cfg + v->offset;
		int rc;

		if (!value)
			continue;
		if (cfg_record_origin(ld, v->path, NULL, 0, v->name) != 0)
			return -1;
		if (v->type == CFG_STRING_LIST || v->type == CFG_TIER_LIST) {
			if (apply_list(ld, v, value, dst) != 0)
				return -1;
			continue;
		}
		rc = cfg_parse_scalar(v->type, value, true, dst);
		if (rc == -2) {
			cfg_fail_at(ld, NULL, 0, NULL, "out of memory");
			return -1;
		}
		if (rc != 0) {
			const char *what = cfg_type_expectation(v->type);

			if (v->type == CFG_BOOL)
				what = "true, false, 1 or 0";
			/* Strings (the client secret among them) always parse, so no secret is
			 * ever echoed here. */
			fail_value(ld, v, what, value);
			return -1;
		}
	}
	return 0;
}
