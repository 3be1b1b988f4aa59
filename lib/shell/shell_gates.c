#include "shell/shell_gates.h"
#include "agent/tunnel_streams.h"
#include "store/agent_registry.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/authz.h"
#include "auth/origin.h"
#include "core/route_match.h"
#include "core/utf8.h"
#include "core/urlcode.h"

const char *shell_kind_name(enum shell_kind kind)
{
	return kind == SHELL_CLUSTER ? "cluster_shell" : "node_shell";
}

void shell_target_clear(struct shell_target *t)
{
	free(t->cluster);
	free(t->node);
	free(t->mode);
	memset(t, 0, sizeof *t);
}

void gate_answer_clear(struct gate_answer *a)
{
	json_decref(a->extras);
	memset(a, 0, sizeof *a);
}

int shell_target_parse(const char *request_uri, struct shell_target *out)
{
	char *params[ROUTE_MAX_PARAMS] = { 0 };
	const char *q = strchr(request_uri, '?');
	char *path = q ? strndup(request_uri, (size_t)(q - request_uri)) : strdup(request_uri);
	struct query_params query = { 0 };
	char err[128];
	int m, rc = -1;

	memset(out, 0, sizeof *out);
	if (!path)
		return -1;
	if ((m = route_match("/api/clusters/{c}/shell", path, params)) == 1) {
		out->kind = SHELL_CLUSTER;
		out->cluster = params[0];
	} else if (m == 0 && (m = route_match("/api/clusters/{c}/nodes/{n}/shell", path, params)) == 1) {
		out->kind = SHELL_NODE;
		out->cluster = params[0];
		out->node = params[1];
	}
	if (m != 1) {
		rc = m;
		goto done;
	}
	if (query_parse(q ? q + 1 : "", &query, err, sizeof err) != 0) {
		shell_target_clear(out);
		goto done;
	}
	if (query_get(&query, "mode"))
		out->mode = strdup(query_get(&query, "mode"));
	rc = 1;
done:
	query_free(&query);
	free(path);
	return rc;
}

int gate_refuse(struct gate_answer *ans, int status, const char *code, json_t *extras,
		const char *fmt, ...)
{
	va_list ap;

	ans->status = status;
	ans->code = code;
	ans->extras = extras;
	va_start(ap, fmt);
	vsnprintf(ans->message, sizeof ans->message, fmt, ap);
	va_end(ap);
	utf8_scrub(ans->message); /* it may quote a header, and be cut mid-character */
	return -1;
}

static json_t *tiers_json(const struct string_list *tiers)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < tiers->count; i++)
		json_array_append_new(a, json_string(tiers->items[i]));
	return a;
}

void shell_caps_for(const struct config *cfg, enum shell_kind kind, struct shell_caps *caps)
{
	if (kind == SHELL_CLUSTER) {
		caps->per_user = cfg->cluster_shell.max_sessions_per_user;
		caps->per_cluster = cfg->cluster_shell.max_sessions_total;
	} else {
		caps->per_user = cfg->node_shell.max_sessions_per_user;
		caps->per_cluster = cfg->node_shell.max_sessions_total;
	}
}

const struct terminal_timers *shell_timers_for(const struct config *cfg, enum shell_kind kind)
{
	return kind == SHELL_CLUSTER ? &cfg->cluster_shell.timers : &cfg->node_shell.timers;
}

int shell_gates_static(const struct config *cfg, const struct shell_target *t,
		       const struct identity *id, struct gate_answer *ans)
{
	const struct cluster_config *c = config_find_cluster(cfg, t->cluster);
	bool cluster_kind = t->kind == SHELL_CLUSTER;
	const struct string_list *tiers = cluster_kind ? &cfg->cluster_shell.tiers : &cfg->node_shell.tiers;
	const char *what = cluster_kind ? "cluster shell" : "node shell";

	memset(ans, 0, sizeof *ans);
	if (!c)
		return gate_refuse(ans, 404, "E_NOT_FOUND", NULL, "no cluster named \"%.64s\"", t->cluster);
	if (cluster_kind ? !cfg->cluster_shell.enabled || c->cluster_shell.enabled == 0
			 : !cfg->node_shell.enabled)
		return gate_refuse(ans, 403, cluster_kind ? "E_CLUSTER_SHELL_DISABLED" : "E_NODE_SHELL_DISABLED",
			      NULL, "the %s is not enabled on this cluster", what);
	if (cfg->authz.mode != AUTHZ_TIER)
		return gate_refuse(ans, 403,
			      cluster_kind ? "E_CLUSTER_SHELL_REQUIRES_TIER" : "E_NODE_SHELL_REQUIRES_TIER",
			      json_pack("{s:s}", "current_mode", authz_mode_name(cfg->authz.mode)),
			      "the %s requires auth.authorization.mode=tier", what);
	if (!id)
		return gate_refuse(ans, 401, "E_AUTH", NULL, "sign in first");
	if (!authz_tier_may_open(&cfg->authz, tiers, id->tier))
		return gate_refuse(ans, 403, "E_FORBIDDEN",
			      json_pack("{s:s, s:o}", "tier", tier_name(id->tier), "allowed_tiers",
					tiers_json(tiers)),
			      "your tier (%s) may not open a %s", id->tier ? tier_name(id->tier) : "none",
			      what);
	if (cluster_kind && t->mode && strcmp(t->mode, "bash") != 0) {
		if (strcmp(t->mode, "kubectl-only") == 0)
			return gate_refuse(ans, 400, "E_NOT_IMPLEMENTED", json_pack("{s:s}", "mode", t->mode),
				      "mode kubectl-only is not implemented yet; use bash");
		return gate_refuse(ans, 400, "E_INVALID_REQUEST",
			      json_pack("{s:s, s:[s]}", "mode", t->mode, "want", "bash"),
			      "unknown shell mode \"%.32s\"", t->mode);
	}
	return 0;
}

int shell_gates_caps(const struct config *cfg, struct dbx *db, const struct shell_target *t,
		     const struct identity *id, const struct shell_slot *take_slot,
		     struct gate_answer *ans)
{
	struct shell_caps caps;
	json_t *active = NULL;
	enum admit_result r;
	char err[256];

	memset(ans, 0, sizeof *ans);
	shell_caps_for(cfg, t->kind, &caps);
	r = take_slot ? shell_registry_admit_dbx(db, take_slot, &caps, &active, err, sizeof err)
		      : shell_registry_check_dbx(db, shell_kind_name(t->kind), id->subject, t->cluster,
						 &caps, cfg->database.replica_id, &active, err,
						 sizeof err);
	switch (r) {
	case ADMIT_OK:
		return 0;
	case ADMIT_CAP_USER:
		return gate_refuse(ans, 429, "E_CAP_USER",
			      json_pack("{s:i, s:o}", "limit", caps.per_user, "activeSessions",
					active ? active : json_array()),
			      "you have reached your limit of %d open %s sessions; close one to open "
			      "another", caps.per_user, t->kind == SHELL_CLUSTER ? "cluster shell" : "node shell");
	case ADMIT_CAP_CLUSTER:
		return gate_refuse(ans, 429, "E_CAP_CLUSTER",
			      json_pack("{s:i, s:o}", "limit", caps.per_cluster, "activeSessions",
					active ? active : json_array()),
			      "cluster %.64s has reached its limit of %d open sessions; try again shortly",
			      t->cluster, caps.per_cluster);
	default:
		json_decref(active);
		return gate_refuse(ans, 500, "E_INTERNAL", NULL, "could not check the session caps");
	}
}

int shell_gate_origin(const struct config *cfg, const char *origin, struct gate_answer *ans)
{
	memset(ans, 0, sizeof *ans);
	if (!origin || !*origin)
		return gate_refuse(ans, 403, "E_ORIGIN", NULL, "a terminal must be opened from a web page");
	if (origin_is_allowed(cfg, origin))
		return 0;
	return gate_refuse(ans, 403, "E_ORIGIN", NULL, "pages from %.128s may not open terminals here",
			   origin);
}

int shell_gate_tunnel(const struct config *cfg, struct dbx *db, const struct shell_target *t,
		      struct gate_answer *ans)
{
	const struct cluster_config *c = config_find_cluster(cfg, t->cluster);
	struct agent_record rec;
	int streams;

	memset(ans, 0, sizeof *ans);
	if (!c || c->backend != BACKEND_AGENT)
		return 0;
	if (agent_lookup_dbx(db, c->name, &rec) != 1 || !rec.connected_since)
		return gate_refuse(ans, 503, "E_CLUSTER_UNREACHABLE",
				   json_pack("{s:b, s:s}", "retryable", 1, "cluster", c->name),
				   "cluster %s is reached through its agent, which is not connected now",
				   c->name);
	streams = tunnel_streams_count(PROC_NET_TCP, rec.tunnel_port);
	if (streams >= cfg->agents.max_streams)
		return gate_refuse(ans, 503, "E_AGENT_BUSY",
				   json_pack("{s:b, s:s, s:i}", "retryable", 1, "cluster", c->name,
					     "limit", cfg->agents.max_streams),
				   "the agent of cluster %s carries as many streams as it may (%d)",
				   c->name, cfg->agents.max_streams);
	return 0;
}
