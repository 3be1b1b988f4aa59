/* Loading the configuration: defaults, then the YAML file, then PERISCOPE_CLUSTERS_FILE,
 * then the env overrides, then validation (lib/config/config_yaml.c, config_env.c,
 * config_validate.c). This file holds the order of those steps, the defaults, the
 * bookkeeping of where each value came from, and the public helpers. */
#include "config/config_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_IMAGE_REPOSITORY "ghcr.io/gnana997/periscope-shell"
#define DEFAULT_IMAGE_TAG "0.1.0"

static void vfail(struct cfg_loader *ld, const char *prefix, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static void vfail(struct cfg_loader *ld, const char *prefix, const char *fmt, va_list ap)
{
	char msg[768];

	if (!ld->err || !ld->errlen)
		return;
	vsnprintf(msg, sizeof msg, fmt, ap);
	snprintf(ld->err, ld->errlen, "%s%s", prefix, msg);
	/* One line, whatever a key or file name held. */
	for (char *p = ld->err; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

void cfg_fail_at(struct cfg_loader *ld, const char *file, int line, const char *path,
		 const char *fmt, ...)
{
	char prefix[512];
	va_list ap;

	if (file && path)
		snprintf(prefix, sizeof prefix, "%s:%d: %s: ", file, line, path);
	else if (file)
		snprintf(prefix, sizeof prefix, "%s:%d: ", file, line);
	else if (path)
		snprintf(prefix, sizeof prefix, "%s: ", path);
	else
		prefix[0] = '\0';
	va_start(ap, fmt);
	vfail(ld, prefix, fmt, ap);
	va_end(ap);
}

/* The nearest enclosing key that came from a file: a missing key is reported at the line
 * of its section (or cluster entry). */
static const struct cfg_origin *enclosing_file_origin(const struct cfg_loader *ld,
						      const char *path)
{
	char parent[256];
	char *dot;

	snprintf(parent, sizeof parent, "%s", path);
	while ((dot = strrchr(parent, '.'))) {
		const struct cfg_origin *o;

		*dot = '\0';
		o = cfg_find_origin(ld, parent);
		if (o && o->file)
			return o;
	}
	return NULL;
}

void cfg_fail_key(struct cfg_loader *ld, const char *path, const char *fmt, ...)
{
	const struct cfg_origin *o = cfg_find_origin(ld, path);
	char prefix[512];
	va_list ap;

	if (!o)
		o = enclosing_file_origin(ld, path);
	if (o && o->env)
		snprintf(prefix, sizeof prefix, "%s: ", o->env);
	else if (o)
		snprintf(prefix, sizeof prefix, "%s:%d: %s: ", o->file, o->line, path);
	else if (ld->main_file)
		snprintf(prefix, sizeof prefix, "%s: %s: ", ld->main_file, path);
	else
		snprintf(prefix, sizeof prefix, "%s: ", path);
	va_start(ap, fmt);
	vfail(ld, prefix, fmt, ap);
	va_end(ap);
}

int cfg_record_origin(struct cfg_loader *ld, const char *path, const char *file, int line,
		      const char *env)
{
	struct cfg_origin *o;

	if (ld->origins_count == ld->origins_cap) {
		size_t cap = ld->origins_cap ? ld->origins_cap * 2 : 64;
		struct cfg_origin *grown = realloc(ld->origins, cap * sizeof *grown);

		if (!grown)
			goto fail;
		ld->origins = grown;
		ld->origins_cap = cap;
	}
	o = &ld->origins[ld->origins_count];
	o->path = strdup(path);
	if (!o->path)
		goto fail;
	o->file = file;
	o->line = line;
	o->env = env;
	ld->origins_count++;
	return 0;
fail:
	cfg_fail_at(ld, NULL, 0, NULL, "out of memory");
	return -1;
}

const struct cfg_origin *cfg_find_origin(const struct cfg_loader *ld, const char *path)
{
	for (size_t i = ld->origins_count; i > 0; i--)
		if (strcmp(ld->origins[i - 1].path, path) == 0)
			return &ld->origins[i - 1];
	return NULL;
}

void cfg_forget_origins(struct cfg_loader *ld, const char *prefix)
{
	size_t kept = 0, plen = strlen(prefix);

	for (size_t i = 0; i < ld->origins_count; i++) {
		if (strncmp(ld->origins[i].path, prefix, plen) == 0) {
			free(ld->origins[i].path);
			continue;
		}
		ld->origins[kept++] = ld->origins[i];
	}
	ld->origins_count = kept;
}

static int set_list(struct string_list *list, const char *const *items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (string_list_append(list, items[i]) != 0)
			return -1;
	return 0;
}

void cfg_cluster_defaults(struct cluster_config *c)
{
	memset(c, 0, sizeof *c);
	c->backend = BACKEND_EKS;
	c->cluster_shell.enabled = -1;
}

/* The defaults of conf/periscope.example.yaml and lib/config/config.h. Strings are never NULL
 * (except per-cluster overrides) so that callers need no NULL checks. */
int cfg_set_defaults(struct cfg_loader *ld)
{
	static const char *const default_scopes[] = { "openid", "profile", "email",
						      "offline_access", "groups" };
	static const char *const admin_only[] = { "admin" };
	static const char *const loopback[] = { "127.0.0.0/8", "::1/128" };
	static const char *const default_sources[] = { "podIdentity", "irsa", "instanceProfile" };
	struct config *c = ld->cfg;
	struct {
		char **field;
		const char *value;
	} strings[] = {
		{ &c->source_path, "" },
		{ &c->server.public_url, "http://127.0.0.1:8080" },
		{ &c->oidc.issuer, "" },
		{ &c->oidc.client_id, "" },
		{ &c->oidc.client_secret, "" },
		{ &c->metrics.bearer_token, "" },
		{ &c->oidc.redirect_url, "" },
		{ &c->oidc.audience, "" },
		{ &c->oidc.provider_name, "" },
		{ &c->oidc.post_logout_redirect, "" },
		{ &c->session.cookie_name, "periscope_session" },
		{ &c->session.cookie_domain, "" },
		{ &c->authz.groups_claim, "groups" },
		{ &c->authz.group_prefix, "periscope:" },
		{ &c->audit.db_path, "/var/lib/periscope/periscope.db" },
		{ &c->database.url, "" },
		{ &c->database.password, "" },
		{ &c->database.replica_id, "" },
		{ &c->recording.dir, "" },
		{ &c->server.wsbridge_log, "syslog" },
		{ &c->cluster_shell.mode, "bash" },
		{ &c->cluster_shell.namespace_, "periscope-system" },
		{ &c->cluster_shell.image, "" },
		{ &c->cluster_shell.image_pull_policy, "IfNotPresent" },
		{ &c->node_shell.aws_role_arn, "" },
		{ &c->node_shell.oidc_audience, "" },
		{ &c->node_shell.region, "" },
		{ &c->node_shell.sts_endpoint, "" },
		{ &c->node_shell.ssm_endpoint, "" },
		{ &c->node_shell.kms_endpoint, "" },
		{ &c->node_shell.ca_file, "" },
		{ &c->eks.sts_endpoint, "" },
		{ &c->eks.eks_endpoint, "" },
		{ &c->eks.imds_endpoint, "http://169.254.169.254" },
		{ &c->eks.ca_file, "" },
		{ &c->agents.host_key_file, "/var/lib/periscope/agent-ssh/host_ed25519_key.pub" },
		{ &c->agents.ssh_user, "" },
		{ &c->agents.tunnel_path, "/agent/tunnel" },
		{ &ld->image_repository, DEFAULT_IMAGE_REPOSITORY },
		{ &ld->image_tag, DEFAULT_IMAGE_TAG },
	};

	for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
		if (cfg_replace_string(strings[i].field, strings[i].value) != 0)
			goto fail;
	if (set_list(&c->oidc.scopes, default_scopes, 5) != 0 ||
	    set_list(&c->cluster_shell.tiers, admin_only, 1) != 0 ||
	    set_list(&c->node_shell.tiers, admin_only, 1) != 0 ||
	    set_list(&c->metrics.allowed_networks, loopback, 2) != 0 ||
	    set_list(&c->eks.source_names, default_sources, 3) != 0)
		goto fail;

	c->server.workers = 4;
	c->session.idle_timeout_s = 30 * 60;
	c->session.absolute_timeout_s = 8 * 3600;
	c->session.refresh_before_s = 60;
	c->authz.mode = AUTHZ_SHARED;
	c->authz.default_tier = TIER_NONE;
	c->audit.retention_days = 30;
	c->audit.max_size_mb = 1024;
	c->audit.vacuum_interval_s = 24 * 3600;
	c->audit.refusal_window_s = 60; /* store/audit_refusal.h AUDIT_REFUSAL_WINDOW_S */
	c->database.sweep_interval_s = 15;
	c->recording.enabled = true;
	c->recording.max_bytes = 64LL << 20;
	c->recording.input = false;

	c->cluster_shell.enabled = false;
	c->cluster_shell.timers = (struct terminal_timers){ 1200, 30, 20, 0, 5 };
	c->cluster_shell.pod_start_timeout_seconds = 30;
	c->cluster_shell.token_refresh_check_seconds = 30;
	c->cluster_shell.transcript_max_bytes = 1048576;
	c->cluster_shell.max_sessions_per_user = 2;
	c->cluster_shell.max_sessions_total = 10;

	c->node_shell.enabled = false;
	c->node_shell.timers = (struct terminal_timers){ 600, 30, 20, 0, 30 };
	c->node_shell.transcript_max_bytes = 1048576;
	c->node_shell.max_sessions_per_user = 2;
	c->node_shell.max_sessions_total = 10;
	c->node_shell.max_credential_seconds = 43200;

	c->agents.tunnel_port_base = 47100;
	c->agents.token_ttl_s = 15 * 60;
	c->agents.max_streams = 64;
	return 0;
fail:
	cfg_fail_at(ld, NULL, 0, NULL, "out of memory");
	return -1;
}

/* The file gives the image as repository + tag; the env var (applied later) gives the
 * whole reference. An empty tag leaves the reference to the registry's default. */
int cfg_compose_image(struct cfg_loader *ld)
{
	char *image;
	int n;

	if (ld->image_tag && *ld->image_tag)
		n = asprintf(&image, "%s:%s", ld->image_repository, ld->image_tag);
	else
		n = asprintf(&image, "%s", ld->image_repository);
	if (n < 0) {
		cfg_fail_at(ld, NULL, 0, NULL, "out of memory");
		return -1;
	}
	free(ld->cfg->cluster_shell.image);
	ld->cfg->cluster_shell.image = image;
	return 0;
}

static void loader_free(struct cfg_loader *ld)
{
	for (size_t i = 0; i < ld->origins_count; i++)
		free(ld->origins[i].path);
	free(ld->origins);
	free(ld->image_repository);
	free(ld->image_tag);
	free(ld->main_file);
	free(ld->clusters_file);
}

static int apply_clusters_file(struct cfg_loader *ld)
{
	const char *path = getenv("PERISCOPE_CLUSTERS_FILE");
	char why[128], *data = NULL;
	size_t len = 0;
	int rc = -1;

	if (!path || !*path)
		return 0;
	ld->clusters_file = strdup(path);
	if (!ld->clusters_file) {
		cfg_fail_at(ld, NULL, 0, NULL, "out of memory");
		goto fail;
	}
	if (cfg_read_file(path, CONFIG_MAX_FILE_BYTES, &data, &len, why, sizeof why) != 0) {
		cfg_fail_at(ld, NULL, 0, NULL, "PERISCOPE_CLUSTERS_FILE: cannot read %s: %s",
			    path, why);
		goto fail;
	}
	rc = cfg_yaml_apply(ld, data, len, ld->clusters_file, true);
fail:
	free(data);
	return rc;
}

struct config *config_load_from_memory(const char *yaml, size_t len, const char *name,
				       char *err, size_t errlen)
{
	struct cfg_loader ld = { .err = err, .errlen = errlen };

	if (err && errlen)
		err[0] = '\0';
	ld.cfg = calloc(1, sizeof *ld.cfg);
	if (!ld.cfg) {
		cfg_fail_at(&ld, NULL, 0, NULL, "out of memory");
		goto fail;
	}
	if (cfg_set_defaults(&ld) != 0)
		goto fail;
	if (yaml) {
		ld.main_file = strdup(name ? name : "config");
		if (!ld.main_file || cfg_replace_string(&ld.cfg->source_path, ld.main_file) != 0) {
			cfg_fail_at(&ld, NULL, 0, NULL, "out of memory");
			goto fail;
		}
		if (cfg_yaml_apply(&ld, yaml, len, ld.main_file, false) != 0)
			goto fail;
	}
	if (apply_clusters_file(&ld) != 0 || cfg_compose_image(&ld) != 0 ||
	    cfg_env_apply(&ld) != 0 || cfg_validate(&ld) != 0)
		goto fail;
	loader_free(&ld);
	return ld.cfg;
fail:
	config_free(ld.cfg);
	loader_free(&ld);
	return NULL;
}

struct config *config_load(const char *path, char *err, size_t errlen)
{
	char why[128], *data = NULL;
	size_t len = 0;
	struct config *cfg;

	if (!path) {
		path = getenv("PERISCOPE_CONFIG");
		if (path && !*path)
			path = NULL;
	}
	if (!path)
		return config_load_from_memory(NULL, 0, NULL, err, errlen);
	if (cfg_read_file(path, CONFIG_MAX_FILE_BYTES, &data, &len, why, sizeof why) != 0) {
		if (err && errlen)
			snprintf(err, errlen, "%s: cannot read the configuration: %s", path, why);
		return NULL;
	}
	cfg = config_load_from_memory(data, len, path, err, errlen);
	free(data);
	return cfg;
}

static void free_cluster(struct cluster_config *c)
{
	free(c->name);
	free(c->arn);
	free(c->region);
	free(c->endpoint);
	free(c->ca_data);
	free(c->kubeconfig_path);
	free(c->kubeconfig_context);
	free(c->environment);
	free(c->node_shell.aws_role_arn);
	free(c->node_shell.oidc_audience);
	free(c->node_shell.region);
	free(c->cluster_shell.namespace_);
}

void config_free_clusters(struct config *cfg)
{
	for (size_t i = 0; i < cfg->clusters_count; i++)
		free_cluster(&cfg->clusters[i]);
	free(cfg->clusters);
	cfg->clusters = NULL;
	cfg->clusters_count = 0;
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	free(cfg->source_path);
	free(cfg->server.public_url);
	free(cfg->server.wsbridge_log);
	string_list_clear(&cfg->server.allowed_origins);
	string_list_clear(&cfg->metrics.allowed_networks);
	if (cfg->metrics.bearer_token) {
		explicit_bzero(cfg->metrics.bearer_token, strlen(cfg->metrics.bearer_token));
		free(cfg->metrics.bearer_token);
	}

	free(cfg->oidc.issuer);
	free(cfg->oidc.client_id);
	if (cfg->oidc.client_secret) {
		/* Do not leave the secret lying in freed heap memory. */
		explicit_bzero(cfg->oidc.client_secret, strlen(cfg->oidc.client_secret));
		free(cfg->oidc.client_secret);
	}
	free(cfg->oidc.redirect_url);
	string_list_clear(&cfg->oidc.scopes);
	free(cfg->oidc.audience);
	free(cfg->oidc.provider_name);
	free(cfg->oidc.post_logout_redirect);

	free(cfg->session.cookie_name);
	free(cfg->session.cookie_domain);

	free(cfg->authz.groups_claim);
	for (size_t i = 0; i < cfg->authz.group_tiers_count; i++)
		free(cfg->authz.group_tiers[i].group);
	free(cfg->authz.group_tiers);
	string_list_clear(&cfg->authz.audit_admin_groups);
	string_list_clear(&cfg->authz.allowed_groups);
	free(cfg->authz.group_prefix);

	free(cfg->audit.db_path);
	free(cfg->database.url);
	free(cfg->database.replica_id);
	if (cfg->database.password) {
		explicit_bzero(cfg->database.password, strlen(cfg->database.password));
		free(cfg->database.password);
	}
	free(cfg->recording.dir);

	free(cfg->cluster_shell.mode);
	string_list_clear(&cfg->cluster_shell.tiers);
	free(cfg->cluster_shell.namespace_);
	free(cfg->cluster_shell.image);
	free(cfg->cluster_shell.image_pull_policy);

	free(cfg->node_shell.aws_role_arn);
	free(cfg->node_shell.oidc_audience);
	free(cfg->node_shell.region);
	string_list_clear(&cfg->node_shell.tiers);
	free(cfg->node_shell.sts_endpoint);
	free(cfg->node_shell.ssm_endpoint);
	free(cfg->node_shell.kms_endpoint);
	free(cfg->node_shell.ca_file);

	string_list_clear(&cfg->eks.source_names);
	free(cfg->eks.sts_endpoint);
	free(cfg->eks.eks_endpoint);
	free(cfg->eks.imds_endpoint);
	free(cfg->eks.ca_file);
	free(cfg->agents.host_key_file);
	free(cfg->agents.ssh_user);
	free(cfg->agents.tunnel_path);

	config_free_clusters(cfg);
	free(cfg);
}

const struct cluster_config *config_find_cluster(const struct config *cfg, const char *name)
{
	if (!cfg || !name)
		return NULL;
	for (size_t i = 0; i < cfg->clusters_count; i++)
		if (cfg->clusters[i].name && strcmp(cfg->clusters[i].name, name) == 0)
			return &cfg->clusters[i];
	return NULL;
}

bool string_list_contains(const struct string_list *list, const char *s)
{
	if (!list || !s)
		return false;
	for (size_t i = 0; i < list->count; i++)
		if (strcmp(list->items[i], s) == 0)
			return true;
	return false;
}

const char *authz_mode_name(enum authz_mode mode)
{
	switch (mode) {
	case AUTHZ_SHARED: return "shared";
	case AUTHZ_TIER: return "tier";
	case AUTHZ_RAW: return "raw";
	}
	return "unknown";
}

const char *cluster_backend_name(enum cluster_backend backend)
{
	switch (backend) {
	case BACKEND_EKS: return "eks";
	case BACKEND_KUBECONFIG: return "kubeconfig";
	case BACKEND_IN_CLUSTER: return "in-cluster";
	case BACKEND_AGENT: return "agent";
	}
	return "unknown";
}

static const char *const cred_source_names[] = { "podIdentity", "irsa", "instanceProfile" };

const char *aws_cred_source_name(enum aws_cred_source s)
{
	return (unsigned)s < CRED_SOURCES_MAX ? cred_source_names[s] : "?";
}

int aws_cred_source_parse(const char *name, enum aws_cred_source *out)
{
	for (int i = 0; i < CRED_SOURCES_MAX; i++) {
		if (strcmp(name, cred_source_names[i]) == 0) {
			*out = (enum aws_cred_source)i;
			return 0;
		}
	}
	return -1;
}
