#include "auth/authz.h"
#include "config/config.h"
#include "handlers.h"

/* Cluster shell is on for a cluster when the server enables it, the cluster does not opt
 * out, and periscope can reach the cluster as itself (not EKS: see shell_gates.c). */
static bool cluster_shell_enabled(const struct config *cfg, const struct cluster_config *c)
{
	return cfg->cluster_shell.enabled && c->cluster_shell.enabled != 0 &&
	       c->backend != BACKEND_EKS;
}

static json_t *cluster_json(const struct config *cfg, const struct cluster_config *c,
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
	return o;
}

void handle_clusters_list(struct request *rq)
{
	const struct config *cfg = rq->w->cfg;
	json_t *list = json_array();

	for (size_t i = 0; list && i < cfg->clusters_count; i++) {
		json_t *c = cluster_json(cfg, &cfg->clusters[i], &rq->identity);
		if (!c || json_array_append_new(list, c) != 0) {
			json_decref(list);
			list = NULL;
		}
	}
	respond_json(rq, list ? 200 : 500, list ? json_pack("{s:o}", "clusters", list) : NULL);
}
