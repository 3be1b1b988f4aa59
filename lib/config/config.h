/* The configuration: one YAML file (path from PERISCOPE_CONFIG) in the shape of the seeds'
 * Helm values, every PERISCOPE_* variable of the seeds overriding its key, and the seeds'
 * defaults. conf/periscope.example.yaml documents every key; docs/config.md (later) is
 * the reference. A bad file or value stops start-up with the key, the file and what was
 * expected, e.g.
 *   periscope.yaml:12: clusterShell.idleSeconds: expected a positive integer, got "soon"
 *   PERISCOPE_CLUSTER_SHELL_IDLE_SECONDS: expected a positive integer, got "soon"
 */
#ifndef PERISCOPE_CONFIG_H
#define PERISCOPE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "auth/tiers.h"

struct string_list {
	char **items;
	size_t count;
};

enum authz_mode { AUTHZ_SHARED, AUTHZ_TIER, AUTHZ_RAW };

enum cluster_backend { BACKEND_EKS, BACKEND_KUBECONFIG, BACKEND_IN_CLUSTER, BACKEND_AGENT };

struct group_tier {
	char *group;
	enum tier tier;
};

struct oidc_config {
	char *issuer;               /* auth.oidc.issuer (required) */
	char *client_id;            /* auth.oidc.clientID (required) */
	char *client_secret;        /* auth.oidc.clientSecret, already resolved from a literal,
	                             * "${ENV}" or "file:/path" reference; "" when unset */
	char *redirect_url;         /* auth.oidc.redirectURL (required) */
	struct string_list scopes;  /* default: openid profile email offline_access groups */
	char *audience;             /* optional extra `audience` authorize parameter */
	char *provider_name;        /* shown on the sign-in page; default guessed, else "OIDC" */
	char *post_logout_redirect; /* where the IdP sends the browser after RP-initiated logout */
};

struct session_config {
	char *cookie_name;          /* default periscope_session */
	char *cookie_domain;        /* "" = host-only */
	int idle_timeout_s;         /* default 1800 (30m) */
	int absolute_timeout_s;     /* default 28800 (8h) */
	int refresh_before_s;       /* refresh when the access token expires within this; 60 */
};

struct authz_config {
	enum authz_mode mode;             /* auth.authorization.mode; default shared */
	char *groups_claim;               /* default "groups" */
	struct group_tier *group_tiers;   /* auth.authorization.groupTiers map, file order */
	size_t group_tiers_count;
	enum tier default_tier;           /* TIER_NONE when unset */
	struct string_list audit_admin_groups;
	struct string_list allowed_groups; /* empty = everyone may sign in */
	char *group_prefix;               /* raw mode prefix; default "periscope:" */
};

struct audit_config {
	char *db_path;              /* audit.dbPath; default /var/lib/periscope/periscope.db */
	int retention_days;         /* 30; 0 disables */
	int max_size_mb;            /* 1024; 0 disables */
	int vacuum_interval_s;      /* 86400 */
	int refusal_window_s;       /* audit.refusalWindow: repeats of a refusal per window are
	                             * counted, not written (store/audit_refusal.h); 60, 5 to 3600 */
};

/* Where the shared state lives (lib/store/dbx.h): database.url, parsed at load. */
enum database_engine { DATABASE_SQLITE, DATABASE_POSTGRES };

struct database_config {
	char *url;                  /* database.url; "" = "sqlite:" + audit.dbPath */
	char *password;             /* database.password (postgres), resolved from a literal,
	                             * "${ENV_VAR}" or "file:/path"; "" = none (or libpq's
	                             * PGPASSWORD / ~/.pgpass) */
	char *replica_id;           /* database.replicaId: this replica's name in the leases of
	                             * its live terminals (store/replica.h); "" at load = the
	                             * host name and the start of /etc/machine-id */
	int sweep_interval_s;       /* database.sweepInterval: periscope.fcgi's maintenance pass
	                             * (close rows of dead terminals, their cluster objects, the
	                             * summaries of refusal windows); 15, at most 60 */
	enum database_engine engine;
	/* SQLITE: audit.db_path is the file. POSTGRES: url is the libpq connection string or
	 * postgres:// URI, which holds no password. */
};

/* Session recordings (shell/recording.h). The smallest recording.maxBytes: room for a
 * header, a marker and a useful head and tail. */
#define RECORDING_MIN_BYTES 4096

struct recording_config {
	bool enabled;               /* recording.enabled; true */
	char *dir;                  /* recording.dir; "" = "recordings" beside audit.dbPath */
	long long max_bytes;        /* recording.maxBytes per session; 67108864 (64 MiB) */
	bool input;                 /* recording.input: keystrokes too ("i" events); false */
};

struct terminal_timers {
	int idle_seconds;
	int idle_warn_seconds;      /* 30 */
	int heartbeat_seconds;      /* 20 */
	int max_duration_seconds;   /* 0 = no maximum */
	int upstream_ping_seconds;  /* WebSocket pings to the apiserver (5) / ssmmessages (30) */
};

struct cluster_shell_config {
	bool enabled;                   /* false */
	char *mode;                     /* "bash" */
	struct string_list tiers;       /* [admin] */
	char *namespace_;               /* periscope-system */
	struct terminal_timers timers;  /* idle 1200 */
	int pod_start_timeout_seconds;  /* 30 */
	int token_refresh_check_seconds; /* 30: how often a shortened token's expiry is checked */
	long long transcript_max_bytes; /* 1048576 */
	int max_sessions_per_user;      /* 2 */
	int max_sessions_total;         /* 10, per cluster */
	char *image;                    /* repository:tag */
	char *image_pull_policy;        /* IfNotPresent | Always | Never */
};

struct node_shell_config {
	bool enabled;                   /* false */
	char *aws_role_arn;
	char *oidc_audience;
	char *region;
	struct string_list tiers;       /* [admin] */
	struct terminal_timers timers;  /* idle 600 */
	long long transcript_max_bytes; /* 1048576 */
	int max_sessions_per_user;      /* 2 */
	int max_sessions_total;         /* 10, per cluster */
	int max_credential_seconds;     /* 43200: cap of the STS DurationSeconds asked for */
	/* Endpoint overrides (tests, private endpoints). Empty = the AWS public endpoints. */
	char *sts_endpoint;             /* nodeShell.endpoints.sts */
	char *ssm_endpoint;             /* nodeShell.endpoints.ssm */
	char *kms_endpoint;             /* nodeShell.endpoints.kms (KMS-encrypted sessions) */
	char *ca_file;                  /* nodeShell.endpoints.caFile: extra CA bundle */
};

/* Per-cluster overrides: NULL / -1 mean "not set, use the global value". */
struct cluster_node_shell {
	char *aws_role_arn;
	char *oidc_audience;
	char *region;
};

struct cluster_cluster_shell {
	int enabled;                    /* -1 unset, 0, 1 */
	char *namespace_;
};

struct cluster_config {
	char *name;                     /* required, unique, [a-z0-9-]; for eks, the EKS name */
	enum cluster_backend backend;   /* default eks */
	char *arn;                      /* eks */
	char *region;
	/* eks: the apiserver URL and its CA (base64 PEM, as DescribeCluster gives it); both
	 * set skips eks:DescribeCluster. "" = ask DescribeCluster. */
	char *endpoint;
	char *ca_data;
	char *kubeconfig_path;          /* kubeconfig backend (required there) */
	char *kubeconfig_context;       /* "" = current-context */
	char *environment;
	struct cluster_node_shell node_shell;
	struct cluster_cluster_shell cluster_shell;
};

/* How the server finds its own AWS identity (for eks clusters only; the node shell never
 * uses it) and where the AWS endpoints are. */
enum aws_cred_source { CRED_POD_IDENTITY, CRED_IRSA, CRED_INSTANCE_PROFILE };
#define CRED_SOURCES_MAX 3

struct eks_config {
	enum aws_cred_source sources[CRED_SOURCES_MAX]; /* eks.credentialSources, in order */
	size_t sources_count;           /* default: podIdentity, irsa, instanceProfile */
	struct string_list source_names; /* as written; parsed into sources by validation */
	char *sts_endpoint;             /* eks.endpoints.sts; "" = https://sts.<region>.amazonaws.com */
	char *eks_endpoint;             /* eks.endpoints.eks; "" = https://eks.<region>.amazonaws.com */
	char *imds_endpoint;            /* eks.endpoints.imds; default http://169.254.169.254 */
	char *ca_file;                  /* eks.endpoints.caFile: extra CA bundle for STS and EKS */
};

/* Agent-backed clusters (backend: agent, docs/agent.md): each registered agent holds an
 * OpenSSH remote forward on its own loopback port, port_base and up, given at registration. */
struct agents_config {
	int tunnel_port_base;           /* agents.tunnelPortBase; 47100 */
	int token_ttl_s;                /* agents.tokenTTLSeconds; 900 */
	char *host_key_file;            /* agents.hostKeyFile: the tunnel sshd's public host key,
					 * handed to agents at registration to pin */
	char *ssh_user;                 /* agents.sshUser: the user sshd runs as; "" = this
					 * process's user */
	char *tunnel_path;              /* agents.tunnelPath: the WebSocket path; /agent/tunnel */
	int max_streams;                /* agents.maxStreams: concurrent forwarded streams per
					 * agent (sshd MaxSessions is for sessions; see docs) */
};

struct server_config {
	char *public_url;               /* PERISCOPE_PUBLIC_URL; e.g. http://127.0.0.1:8080 */
	struct string_list allowed_origins; /* extra WebSocket origins; public_url's always ok */
	int workers;                    /* FastCGI worker threads; default 4 */
	char *wsbridge_log;             /* server.wsbridgeLog: "syslog" (default), "stderr" or
					 * an absolute file path (core/log.h) */
};

/* GET /metrics: who may scrape (docs/monitoring.md). */
struct metrics_config {
	struct string_list allowed_networks; /* CIDRs; default loopback; empty = any address */
	char *bearer_token;             /* "" = none; else required as Authorization: Bearer */
};

struct config {
	char *source_path;              /* the YAML file read, or "" when none */
	struct server_config server;
	struct metrics_config metrics;
	struct oidc_config oidc;
	struct session_config session;
	struct authz_config authz;
	struct audit_config audit;
	struct database_config database;
	struct recording_config recording;
	struct cluster_shell_config cluster_shell;
	struct node_shell_config node_shell;
	struct eks_config eks;
	struct agents_config agents;
	struct cluster_config *clusters;
	size_t clusters_count;
};

/* Loads the file at path (NULL: PERISCOPE_CONFIG; unset: defaults and env only), applies
 * env overrides, validates. Returns a config or NULL with a one-line message in err. */
struct config *config_load(const char *path, char *err, size_t errlen);
void config_free(struct config *cfg);

const struct cluster_config *config_find_cluster(const struct config *cfg, const char *name);
bool string_list_contains(const struct string_list *list, const char *s);

const char *authz_mode_name(enum authz_mode mode);
const char *cluster_backend_name(enum cluster_backend backend);
const char *aws_cred_source_name(enum aws_cred_source s);
/* "podIdentity", "irsa", "instanceProfile": 0 and *out, or -1. */
int aws_cred_source_parse(const char *name, enum aws_cred_source *out);

#endif
