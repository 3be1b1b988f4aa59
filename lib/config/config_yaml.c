/* The YAML side of the configuration: libyaml's document API gives a tree of string
 * scalars; a table of keys per mapping (the schema below, one row per key of
 * conf/periscope.example.yaml) says what each key holds and where it goes, and the walker
 * parses each scalar with the typed parsers of config_value.c. */
#include "config/config_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "auth/tiers.h"

/* A field lives either in the object being filled (struct config, or one
 * struct cluster_config) or in the loader (values that only exist in the file). */
enum field_base { IN_OBJECT, IN_LOADER };

struct schema;

struct field {
	const char *key;
	enum cfg_type type;
	enum field_base base;
	size_t offset;
	const struct schema *child;   /* CFG_MAP */
};

struct schema {
	const struct field *fields;
	size_t count;
};

/* walk_map tracks the keys seen in a mapping in a 64-bit mask. */
#define SCHEMA(name, ...)                                                               \
	static const struct field name##_fields[] = { __VA_ARGS__ };                     \
	_Static_assert(sizeof name##_fields / sizeof name##_fields[0] <= 64,             \
		       #name " has more keys than walk_map can track");                  \
	static const struct schema name = { name##_fields,                              \
					    sizeof name##_fields / sizeof name##_fields[0] }
#define F(key, type, member) { key, type, IN_OBJECT, offsetof(struct config, member), NULL }
#define M(key, child) { key, CFG_MAP, IN_OBJECT, 0, &child }
#define C(key, type, member) { key, type, IN_OBJECT, offsetof(struct cluster_config, member), NULL }

SCHEMA(server_schema,
       F("publicURL", CFG_URL, server.public_url),
       F("allowedOrigins", CFG_STRING_LIST, server.allowed_origins),
       F("workers", CFG_POS_INT, server.workers),
       F("wsbridgeLog", CFG_STRING, server.wsbridge_log));

SCHEMA(metrics_schema,
       F("allowedNetworks", CFG_STRING_LIST, metrics.allowed_networks),
       F("bearerToken", CFG_STRING, metrics.bearer_token));

SCHEMA(oidc_schema,
       F("issuer", CFG_URL, oidc.issuer),
       F("clientID", CFG_STRING, oidc.client_id),
       F("clientSecret", CFG_STRING, oidc.client_secret),
       F("redirectURL", CFG_URL, oidc.redirect_url),
       F("scopes", CFG_STRING_LIST, oidc.scopes),
       F("audience", CFG_STRING, oidc.audience),
       F("providerName", CFG_STRING, oidc.provider_name),
       F("postLogoutRedirect", CFG_URL, oidc.post_logout_redirect));

SCHEMA(session_schema,
       F("cookieName", CFG_STRING, session.cookie_name),
       F("cookieDomain", CFG_STRING, session.cookie_domain),
       F("idleTimeout", CFG_POS_DURATION, session.idle_timeout_s),
       F("absoluteTimeout", CFG_POS_DURATION, session.absolute_timeout_s),
       F("refreshBefore", CFG_NONNEG_DURATION, session.refresh_before_s));

SCHEMA(authorization_schema,
       F("mode", CFG_AUTHZ_MODE, authz.mode),
       F("groupsClaim", CFG_STRING, authz.groups_claim),
       F("groupTiers", CFG_GROUP_TIERS, authz),
       F("defaultTier", CFG_TIER, authz.default_tier),
       F("auditAdminGroups", CFG_STRING_LIST, authz.audit_admin_groups),
       F("allowedGroups", CFG_STRING_LIST, authz.allowed_groups),
       F("groupPrefix", CFG_STRING, authz.group_prefix));

SCHEMA(auth_schema,
       M("oidc", oidc_schema),
       M("session", session_schema),
       M("authorization", authorization_schema));

SCHEMA(audit_schema,
       F("dbPath", CFG_STRING, audit.db_path),
       F("retentionDays", CFG_NONNEG_INT, audit.retention_days),
       F("maxSizeMB", CFG_NONNEG_INT, audit.max_size_mb),
       F("vacuumInterval", CFG_POS_DURATION, audit.vacuum_interval_s),
       F("refusalWindow", CFG_POS_DURATION, audit.refusal_window_s));

SCHEMA(database_schema,
       F("url", CFG_STRING, database.url),
       F("password", CFG_STRING, database.password),
       F("replicaId", CFG_STRING, database.replica_id),
       F("sweepInterval", CFG_POS_DURATION, database.sweep_interval_s));

SCHEMA(recording_schema,
       F("enabled", CFG_BOOL, recording.enabled),
       F("dir", CFG_STRING, recording.dir),
       F("maxBytes", CFG_POS_INT64, recording.max_bytes),
       F("input", CFG_BOOL, recording.input));

SCHEMA(image_schema,
       { "repository", CFG_STRING, IN_LOADER, offsetof(struct cfg_loader, image_repository), NULL },
       { "tag", CFG_STRING, IN_LOADER, offsetof(struct cfg_loader, image_tag), NULL },
       F("pullPolicy", CFG_PULL_POLICY, cluster_shell.image_pull_policy));

SCHEMA(cluster_shell_schema,
       F("enabled", CFG_BOOL, cluster_shell.enabled),
       F("mode", CFG_SHELL_MODE, cluster_shell.mode),
       F("tiers", CFG_TIER_LIST, cluster_shell.tiers),
       F("namespace", CFG_STRING, cluster_shell.namespace_),
       F("idleSeconds", CFG_POS_INT, cluster_shell.timers.idle_seconds),
       F("idleWarnSeconds", CFG_POS_INT, cluster_shell.timers.idle_warn_seconds),
       F("heartbeatSeconds", CFG_POS_INT, cluster_shell.timers.heartbeat_seconds),
       F("maxDurationSeconds", CFG_NONNEG_INT, cluster_shell.timers.max_duration_seconds),
       F("upstreamPingSeconds", CFG_POS_INT, cluster_shell.timers.upstream_ping_seconds),
       F("podStartTimeoutSeconds", CFG_POS_INT, cluster_shell.pod_start_timeout_seconds),
       F("tokenRefreshCheckSeconds", CFG_POS_INT, cluster_shell.token_refresh_check_seconds),
       F("transcriptMaxBytes", CFG_POS_INT64, cluster_shell.transcript_max_bytes),
       F("maxSessionsPerUser", CFG_POS_INT, cluster_shell.max_sessions_per_user),
       F("maxSessionsTotal", CFG_POS_INT, cluster_shell.max_sessions_total),
       M("image", image_schema));

SCHEMA(endpoints_schema,
       F("sts", CFG_URL, node_shell.sts_endpoint),
       F("ssm", CFG_URL, node_shell.ssm_endpoint),
       F("kms", CFG_URL, node_shell.kms_endpoint),
       F("caFile", CFG_STRING, node_shell.ca_file));

SCHEMA(node_shell_schema,
       F("enabled", CFG_BOOL, node_shell.enabled),
       F("awsRoleArn", CFG_STRING, node_shell.aws_role_arn),
       F("oidcAudience", CFG_STRING, node_shell.oidc_audience),
       F("region", CFG_STRING, node_shell.region),
       F("tiers", CFG_TIER_LIST, node_shell.tiers),
       F("idleSeconds", CFG_POS_INT, node_shell.timers.idle_seconds),
       F("idleWarnSeconds", CFG_POS_INT, node_shell.timers.idle_warn_seconds),
       F("heartbeatSeconds", CFG_POS_INT, node_shell.timers.heartbeat_seconds),
       F("maxDurationSeconds", CFG_NONNEG_INT, node_shell.timers.max_duration_seconds),
       F("upstreamPingSeconds", CFG_POS_INT, node_shell.timers.upstream_ping_seconds),
       F("transcriptMaxBytes", CFG_POS_INT64, node_shell.transcript_max_bytes),
       F("maxSessionsPerUser", CFG_POS_INT, node_shell.max_sessions_per_user),
       F("maxSessionsTotal", CFG_POS_INT, node_shell.max_sessions_total),
       F("maxCredentialSeconds", CFG_POS_INT, node_shell.max_credential_seconds),
       M("endpoints", endpoints_schema));

SCHEMA(eks_endpoints_schema,
       F("sts", CFG_URL, eks.sts_endpoint),
       F("eks", CFG_URL, eks.eks_endpoint),
       F("imds", CFG_URL, eks.imds_endpoint),
       F("caFile", CFG_STRING, eks.ca_file));

SCHEMA(eks_schema,
       F("credentialSources", CFG_STRING_LIST, eks.source_names),
       M("endpoints", eks_endpoints_schema));

SCHEMA(agents_schema,
       F("tunnelPortBase", CFG_POS_INT, agents.tunnel_port_base),
       F("tokenTTLSeconds", CFG_POS_INT, agents.token_ttl_s),
       F("hostKeyFile", CFG_STRING, agents.host_key_file),
       F("sshUser", CFG_STRING, agents.ssh_user),
       F("tunnelPath", CFG_STRING, agents.tunnel_path),
       F("maxStreams", CFG_POS_INT, agents.max_streams));

SCHEMA(top_schema,
       M("server", server_schema),
       M("metrics", metrics_schema),
       M("auth", auth_schema),
       M("audit", audit_schema),
       M("database", database_schema),
       M("recording", recording_schema),
       M("clusterShell", cluster_shell_schema),
       M("nodeShell", node_shell_schema),
       M("eks", eks_schema),
       M("agents", agents_schema),
       { "clusters", CFG_CLUSTERS, IN_OBJECT, 0, NULL });

SCHEMA(clusters_file_schema,
       { "clusters", CFG_CLUSTERS, IN_OBJECT, 0, NULL });

SCHEMA(cluster_node_shell_schema,
       C("awsRoleArn", CFG_OPT_STRING, node_shell.aws_role_arn),
       C("oidcAudience", CFG_OPT_STRING, node_shell.oidc_audience),
       C("region", CFG_OPT_STRING, node_shell.region));

SCHEMA(cluster_cluster_shell_schema,
       C("enabled", CFG_TRISTATE, cluster_shell.enabled),
       C("namespace", CFG_OPT_STRING, cluster_shell.namespace_));

SCHEMA(cluster_schema,
       C("name", CFG_STRING, name),
       C("backend", CFG_BACKEND, backend),
       C("arn", CFG_STRING, arn),
       C("region", CFG_STRING, region),
       C("endpoint", CFG_STRING, endpoint),
       C("certificateAuthorityData", CFG_STRING, ca_data),
       C("kubeconfigPath", CFG_STRING, kubeconfig_path),
       C("kubeconfigContext", CFG_STRING, kubeconfig_context),
       C("environment", CFG_STRING, environment),
       M("nodeShell", cluster_node_shell_schema),
       M("clusterShell", cluster_cluster_shell_schema));

#undef F
#undef M
#undef C
#undef SCHEMA

/* One walk over one document. */
struct walk {
	struct cfg_loader *ld;
	yaml_document_t *doc;
	const char *file;
	unsigned char *visited;    /* per node: aliases would make a node appear twice */
	size_t nodes;
};

#define PATH_MAX_LEN 256

static int line_of(const yaml_node_t *node)
{
	return (int)node->start_mark.line + 1;
}

static const char *kind_name(const yaml_node_t *node)
{
	switch (node->type) {
	case YAML_MAPPING_NODE: return "a mapping";
	case YAML_SEQUENCE_NODE: return "a sequence";
	default: return "a scalar";
	}
}

static const char *scalar_text(const yaml_node_t *node)
{
	return (const char *)node->data.scalar.value;
}

/* An unquoted empty, ~ or null value means "not set": the default stays. */
static bool is_null(const yaml_node_t *node)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };

	if (node->type != YAML_SCALAR_NODE || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++)
		if (strcmp(scalar_text(node), nulls[i]) == 0)
			return true;
	return false;
}

/* Paths are for messages only: an over-long one (a huge group name) is just cut. */
static void join_path(char *out, const char *parent, const char *key)
{
	int n;

	if (*parent)
		n = snprintf(out, PATH_MAX_LEN, "%s.%s", parent, key);
	else
		n = snprintf(out, PATH_MAX_LEN, "%s", key);
	if (n < 0)
		out[0] = '\0';
}

static void index_path(char *out, const char *parent, size_t index)
{
	if (snprintf(out, PATH_MAX_LEN, "%s[%zu]", parent, index) < 0)
		out[0] = '\0';
}

/* Fetches node id and marks it seen; a second visit is an alias (or a cycle made of
 * one), which this format has no use for. */
static yaml_node_t *visit(struct walk *w, int id, const char *path)
{
	yaml_node_t *node = yaml_document_get_node(w->doc, id);
	size_t index = (size_t)id - 1;

	if (!node || index >= w->nodes) {
		cfg_fail_at(w->ld, w->file, 0, path, "malformed YAML document");
		return NULL;
	}
	if (w->visited[index]) {
		cfg_fail_at(w->ld, w->file, line_of(node), path,
			    "YAML aliases are not supported here");
		return NULL;
	}
	w->visited[index] = 1;
	return node;
}

static int fail_type(struct walk *w, const yaml_node_t *node, const char *path,
		     enum cfg_type t)
{
	char got[160];

	if (node->type == YAML_SCALAR_NODE)
		cfg_quote(scalar_text(node), got, sizeof got);
	else
		snprintf(got, sizeof got, "%s", kind_name(node));
	cfg_fail_at(w->ld, w->file, line_of(node), path, "expected %s, got %s",
		    cfg_type_expectation(t), got);
	return -1;
}

static int oom(struct walk *w)
{
	cfg_fail_at(w->ld, NULL, 0, NULL, "out of memory");
	return -1;
}

static int walk_map(struct walk *w, const yaml_node_t *map, const struct schema *schema,
		    void *object, const char *path);

static int apply_list(struct walk *w, const yaml_node_t *node, enum cfg_type t,
		      struct string_list *list, const char *path)
{
	char item_path[PATH_MAX_LEN];
	size_t index = 0;

	if (node->type != YAML_SEQUENCE_NODE)
		return fail_type(w, node, path, t);
	string_list_clear(list);
	for (yaml_node_item_t *it = node->data.sequence.items.start;
	     it < node->data.sequence.items.top; it++, index++) {
		const yaml_node_t *item;
		enum tier tier;

		index_path(item_path, path, index);
		item = visit(w, *it, item_path);
		if (!item)
			return -1;
		if (item->type != YAML_SCALAR_NODE)
			return fail_type(w, item, item_path,
					 t == CFG_TIER_LIST ? CFG_TIER : CFG_STRING);
		if (t == CFG_TIER_LIST && tier_parse(scalar_text(item), &tier) != 0) {
			char got[160];

			cfg_quote(scalar_text(item), got, sizeof got);
			cfg_fail_at(w->ld, w->file, line_of(item), item_path,
				    "expected a tier (read, triage, write, maintain, admin), got %s",
				    got);
			return -1;
		}
		if (string_list_append(list, scalar_text(item)) != 0)
			return oom(w);
	}
	return 0;
}

static int apply_group_tiers(struct walk *w, const yaml_node_t *node,
			     struct authz_config *authz, const char *path)
{
	char entry_path[PATH_MAX_LEN];

	if (node->type != YAML_MAPPING_NODE)
		return fail_type(w, node, path, CFG_GROUP_TIERS);
	for (size_t i = 0; i < authz->group_tiers_count; i++)
		free(authz->group_tiers[i].group);
	free(authz->group_tiers);
	authz->group_tiers = NULL;
	authz->group_tiers_count = 0;

	for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
	     p < node->data.mapping.pairs.top; p++) {
		const yaml_node_t *key = visit(w, p->key, path), *value;
		struct group_tier *grown;
		enum tier tier;
		char got[160];

		if (!key)
			return -1;
		if (key->type != YAML_SCALAR_NODE || !*scalar_text(key)) {
			cfg_fail_at(w->ld, w->file, line_of(key), path,
				    "expected a group name as key, got %s",
				    key->type == YAML_SCALAR_NODE ? "\"\"" : kind_name(key));
			return -1;
		}
		join_path(entry_path, path, scalar_text(key));
		for (size_t i = 0; i < authz->group_tiers_count; i++) {
			if (strcmp(authz->group_tiers[i].group, scalar_text(key)) == 0) {
				cfg_fail_at(w->ld, w->file, line_of(key), path,
					    "group \"%s\" is listed twice", scalar_text(key));
				return -1;
			}
		}
		value = visit(w, p->value, entry_path);
		if (!value)
			return -1;
		if (value->type != YAML_SCALAR_NODE || tier_parse(scalar_text(value), &tier) != 0) {
			if (value->type == YAML_SCALAR_NODE)
				cfg_quote(scalar_text(value), got, sizeof got);
			else
				snprintf(got, sizeof got, "%s", kind_name(value));
			cfg_fail_at(w->ld, w->file, line_of(value), entry_path,
				    "expected a tier (read, triage, write, maintain, admin), got %s",
				    got);
			return -1;
		}
		grown = realloc(authz->group_tiers,
				(authz->group_tiers_count + 1) * sizeof *grown);
		if (!grown)
			return oom(w);
		authz->group_tiers = grown;
		grown[authz->group_tiers_count].group = strdup(scalar_text(key));
		if (!grown[authz->group_tiers_count].group)
			return oom(w);
		grown[authz->group_tiers_count].tier = tier;
		authz->group_tiers_count++;
	}
	return 0;
}

static int init_cluster_strings(struct cluster_config *c)
{
	char **fields[] = { &c->name, &c->arn, &c->region, &c->endpoint, &c->ca_data, &c->kubeconfig_path,
			    &c->kubeconfig_context, &c->environment };

	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
		if (cfg_replace_string(fields[i], "") != 0)
			return -1;
	return 0;
}

static int apply_clusters(struct walk *w, const yaml_node_t *node, const char *path)
{
	struct config *cfg = w->ld->cfg;
	char entry_path[PATH_MAX_LEN];
	size_t n, index = 0;

	if (node->type != YAML_SEQUENCE_NODE)
		return fail_type(w, node, path, CFG_CLUSTERS);
	/* A later source (PERISCOPE_CLUSTERS_FILE) replaces the list as a whole. */
	config_free_clusters(cfg);
	cfg_forget_origins(w->ld, "clusters[");
	n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
	if (n == 0)
		return 0;
	cfg->clusters = calloc(n, sizeof *cfg->clusters);
	if (!cfg->clusters)
		return oom(w);
	for (yaml_node_item_t *it = node->data.sequence.items.start;
	     it < node->data.sequence.items.top; it++, index++) {
		struct cluster_config *c = &cfg->clusters[index];
		const yaml_node_t *entry;

		index_path(entry_path, path, index);
		entry = visit(w, *it, entry_path);
		if (!entry)
			return -1;
		cfg_cluster_defaults(c);
		cfg->clusters_count = index + 1;
		if (init_cluster_strings(c) != 0)
			return oom(w);
		if (entry->type != YAML_MAPPING_NODE) {
			cfg_fail_at(w->ld, w->file, line_of(entry), entry_path,
				    "expected a mapping with at least a name, got %s",
				    kind_name(entry));
			return -1;
		}
		if (cfg_record_origin(w->ld, entry_path, w->file, line_of(entry), NULL) != 0)
			return -1;
		if (walk_map(w, entry, &cluster_schema, c, entry_path) != 0)
			return -1;
	}
	return 0;
}

/* key_line: a key is remembered at the line of its name, which for a block mapping or
 * sequence is the line before its first entry. */
static int apply_value(struct walk *w, const struct field *f, const yaml_node_t *node,
		       int key_line, void *object, const char *path)
{
	void *dst = (char *)(f->base == IN_LOADER ? (void *)w->ld : object) + f->offset;
	int rc;

	if (is_null(node))
		return 0;
	if (cfg_record_origin(w->ld, path, w->file, key_line, NULL) != 0)
		return -1;
	switch (f->type) {
	case CFG_MAP:
		if (node->type != YAML_MAPPING_NODE)
			return fail_type(w, node, path, CFG_MAP);
		return walk_map(w, node, f->child, object, path);
	case CFG_CLUSTERS:
		return apply_clusters(w, node, path);
	case CFG_GROUP_TIERS:
		return apply_group_tiers(w, node, dst, path);
	case CFG_STRING_LIST:
	case CFG_TIER_LIST:
		return apply_list(w, node, f->type, dst, path);
	default:
		if (node->type != YAML_SCALAR_NODE)
			return fail_type(w, node, path, f->type);
		rc = cfg_parse_scalar(f->type, scalar_text(node), false, dst);
		if (rc == -2)
			return oom(w);
		if (rc != 0)
			return fail_type(w, node, path, f->type);
		return 0;
	}
}

static int fail_unknown_key(struct walk *w, const yaml_node_t *key,
			    const struct schema *schema, const char *path)
{
	const char *best = NULL;
	size_t best_distance = 3;
	char where[PATH_MAX_LEN + 8], hint[128] = "";

	for (size_t i = 0; i < schema->count; i++) {
		size_t d = cfg_edit_distance(scalar_text(key), schema->fields[i].key, 2);

		if (d < best_distance) {
			best_distance = d;
			best = schema->fields[i].key;
		}
	}
	if (best)
		snprintf(hint, sizeof hint, " (did you mean %s?)", best);
	if (*path)
		snprintf(where, sizeof where, "in %s", path);
	else
		snprintf(where, sizeof where, "at the top level");
	{
		char quoted[160];

		cfg_quote(scalar_text(key), quoted, sizeof quoted);
		cfg_fail_at(w->ld, w->file, line_of(key), NULL, "unknown key %s %s%s", quoted,
			    where, hint);
	}
	return -1;
}

static int walk_map(struct walk *w, const yaml_node_t *map, const struct schema *schema,
		    void *object, const char *path)
{
	char child_path[PATH_MAX_LEN];
	uint64_t seen = 0;

	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		const yaml_node_t *key = visit(w, p->key, path), *value;
		size_t i;

		if (!key)
			return -1;
		if (key->type != YAML_SCALAR_NODE) {
			cfg_fail_at(w->ld, w->file, line_of(key), *path ? path : NULL,
				    "expected a key, got %s", kind_name(key));
			return -1;
		}
		for (i = 0; i < schema->count; i++)
			if (strcmp(schema->fields[i].key, scalar_text(key)) == 0)
				break;
		if (i == schema->count)
			return fail_unknown_key(w, key, schema, path);
		join_path(child_path, path, scalar_text(key));
		if (seen & (UINT64_C(1) << i)) {
			cfg_fail_at(w->ld, w->file, line_of(key), child_path,
				    "key given twice in the same mapping");
			return -1;
		}
		seen |= UINT64_C(1) << i;
		value = visit(w, p->value, child_path);
		if (!value)
			return -1;
		if (apply_value(w, &schema->fields[i], value, line_of(key), object, child_path) != 0)
			return -1;
	}
	return 0;
}

static void fail_syntax(struct cfg_loader *ld, const char *file, const yaml_parser_t *parser)
{
	int line = (int)parser->problem_mark.line + 1;

	if (parser->context)
		cfg_fail_at(ld, file, line, NULL, "YAML syntax error: %s %s",
			    parser->problem ? parser->problem : "invalid YAML", parser->context);
	else
		cfg_fail_at(ld, file, line, NULL, "YAML syntax error: %s",
			    parser->problem ? parser->problem : "invalid YAML");
}

/* libyaml reports a second document only when asked to load it. */
static int check_single_document(struct cfg_loader *ld, const char *file,
				 yaml_parser_t *parser)
{
	yaml_document_t next;
	yaml_node_t *root;
	int rc = 0;

	if (!yaml_parser_load(parser, &next)) {
		fail_syntax(ld, file, parser);
		return -1;
	}
	root = yaml_document_get_root_node(&next);
	if (root) {
		cfg_fail_at(ld, file, line_of(root), NULL,
			    "expected a single YAML document, found a second one");
		rc = -1;
	}
	yaml_document_delete(&next);
	return rc;
}

int cfg_yaml_apply(struct cfg_loader *ld, const char *yaml, size_t len, const char *name,
		   bool clusters_only)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	bool parser_ready = false, doc_ready = false;
	struct walk w = { .ld = ld, .file = name };
	yaml_node_t *root;
	int rc = -1;

	if (!yaml_parser_initialize(&parser)) {
		cfg_fail_at(ld, NULL, 0, NULL, "out of memory");
		goto done;
	}
	parser_ready = true;
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
	if (!yaml_parser_load(&parser, &doc)) {
		fail_syntax(ld, name, &parser);
		goto done;
	}
	doc_ready = true;
	root = yaml_document_get_root_node(&doc);
	if (!root || is_null(root)) {
		rc = check_single_document(ld, name, &parser);
		goto done;
	}
	if (check_single_document(ld, name, &parser) != 0)
		goto done;
	if (root->type != YAML_MAPPING_NODE) {
		cfg_fail_at(ld, name, line_of(root), NULL,
			    "expected a mapping of keys at the top level, got %s", kind_name(root));
		goto done;
	}
	w.doc = &doc;
	w.nodes = (size_t)(doc.nodes.top - doc.nodes.start);
	w.visited = calloc(w.nodes ? w.nodes : 1, 1);
	if (!w.visited) {
		cfg_fail_at(ld, NULL, 0, NULL, "out of memory");
		goto done;
	}
	w.visited[0] = 1;   /* the root (node 1) */
	rc = walk_map(&w, root, clusters_only ? &clusters_file_schema : &top_schema, ld->cfg, "");
done:
	free(w.visited);
	if (doc_ready)
		yaml_document_delete(&doc);
	if (parser_ready)
		yaml_parser_delete(&parser);
	return rc;
}
