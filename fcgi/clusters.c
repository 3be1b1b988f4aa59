#include "auth/authz.h"
#include "store/dbx.h"
#include "store/agent_registry.h"
#include "config/config.h"
#include "handlers.h"

/* Cluster shell is on for a cluster when the server enables it, the cluster does not opt
 * out, and periscope can reach the cluster as itself (not EKS: see shell_gates.c). */
static bool cluster_shell_enabled(const struct config *cfg, const struct cluster_config *c)
{
	return cfg->cluster_shell.enabled && c->cluster_shell.enabled != 0 &&
	       c->backend != BACKEND_EKS;
}

/* An agent cluster's tunnel (docs/agent.md): registered or not, connected since when (Unix
 * seconds), last seen (the tunnel process notes it every 15 s while the agent is up). */
static json_t *tunnel_json(struct dbx *db, const char *cluster)
{
	struct agent_record rec;
	int found = agent_lookup_dbx(db, cluster, &rec);
	json_t *t;

	if (found < 0)
		return json_pack("{s:s}", "status", "unknown");
	if (found == 0)
		return json_pack("{s:s, s:b}", "status", "unregistered", "connected", 0);
	t = json_pack("{s:s, s:b, s:I}", "status", rec.connected_since ? "connected" : "disconnected",
		      "connected", rec.connected_since != 0, "registeredAt",
		      (json_int_t)rec.registered_at);
	if (t && rec.connected_since)
		json_object_set_new(t, "connectedSince", json_integer(rec.connected_since));
	if (t && rec.last_seen)
		json_object_set_new(t, "lastSeen", json_integer(rec.last_seen));
	return t;
}

static json_t *cluster_json(const struct config *cfg, struct dbx *db, const struct cluster_config *c,
			    const struct identity *id)
{
	bool cs = cluster_shell_enabled(cfg, c), ns = cfg->node_shell.enabled;
	json_t *o = json_pack("{s:s, s:s, s:b, s:b, s:b, s:b}", "name", c->name, "backend",
			      cluster_backend_name(c->backend), "clusterShellEnabled", cs,
			      "nodeShellEnabled", ns, "clusterShellAllowed",
			      cs && authz_tier_may_open(&cfg->authz, &cfg->cluster_shell.tiers, id->tier),
			      "nodeShellAllowed",
			      ns && authz_tier_may_open(&cfg->authz, &cfg->node_shell.tiers, id->tier));

	if (!o)
		return NULL;
	if (c->region && *c->region)
		json_object_set_new(o, "region", json_string(c->region));
	if (c->environment && *c->environment)
		json_object_set_new(o, "environment", json_string(c->environment));
	if (cs)
		json_object_set_new(o, "clusterShellMode", json_string(cfg->cluster_shell.mode));
	if (c->backend == BACKEND_AGENT)
		json_object_set_new(o, "tunnel", tunnel_json(db, c->name));
	return o;
}

void handle_clusters_list(struct request *rq)
{
	const struct config *cfg = rq->w->cfg;
	json_t *list = json_array();

	for (size_t i = 0; list && i < cfg->clusters_count; i++) {
		json_t *c = cluster_json(cfg, rq->w->dbx, &cfg->clusters[i], &rq->identity);
		if (!c || json_array_append_new(list, c) != 0) {
			json_decref(list);
			list = NULL;
		}
	}
	respond_json(rq, list ? 200 : 500, list ? json_pack("{s:o}", "clusters", list) : NULL);
}
