#include "k8s/cluster_shell_sweep.h"

#include <stdio.h>
#include <string.h>

#include "k8s/cluster_access.h"
#include "k8s/cluster_shell_spec.h"
#include "core/log.h"
#include "store/shell_registry.h"

static int delete_object(const struct k8s_client *k, const char *ns, const char *kind,
			 const char *name)
{
	struct k8s_response r;
	char path[512], err[256];
	int rc = -1;

	snprintf(path, sizeof path, "/api/v1/namespaces/%s/%s/%s?gracePeriodSeconds=0", ns, kind, name);
	if (k8s_call(k, "DELETE", path, NULL, &r, err, sizeof err) == 0 &&
	    (r.status / 100 == 2 || r.status == 404))
		rc = 0;
	k8s_response_clear(&r);
	return rc;
}

int cluster_shell_sweep(sqlite3 *db, const struct k8s_client *k, const char *ns,
			const char *keep_session)
{
	static const char *const kinds[] = { "pods", "secrets" };
	int deleted = 0;
	char path[512], err[256];

	if (shell_registry_reap(db, NULL) < 0)
		return -1;
	for (size_t i = 0; i < 2; i++) {
		struct k8s_response r;
		json_t *item;
		size_t j;

		snprintf(path, sizeof path,
			 "/api/v1/namespaces/%s/%s?labelSelector=" LABEL_MANAGED_BY "%%3Dperiscope", ns,
			 kinds[i]);
		if (k8s_call(k, "GET", path, NULL, &r, err, sizeof err) != 0 || r.status != 200) {
			k8s_response_clear(&r);
			return -1;
		}
		json_array_foreach(json_object_get(r.body, "items"), j, item) {
			json_t *meta = json_object_get(item, "metadata");
			const char *id = json_string_value(json_object_get(json_object_get(meta, "labels"),
									   LABEL_SESSION));
			const char *name = json_string_value(json_object_get(meta, "name"));

			if (!id || !name || (keep_session && strcmp(id, keep_session) == 0) ||
			    shell_registry_is_live(db, id) != 0)
				continue;
			if (delete_object(k, ns, kinds[i], name) == 0) {
				deleted++;
				log_json(LOG_INFO, "sweep", "deleted an orphan of a dead session",
					 json_pack("{s:s, s:s, s:s}", "kind", kinds[i], "name", name,
						   "session_id", id));
			}
		}
		k8s_response_clear(&r);
	}
	return deleted;
}

void cluster_shell_sweep_all(const struct config *cfg, sqlite3 *db)
{
	if (!cfg->cluster_shell.enabled)
		return;
	for (size_t i = 0; i < cfg->clusters_count; i++) {
		const struct cluster_config *c = &cfg->clusters[i];
		struct kube_target target = { 0 };
		struct k8s_client k = { .target = &target };
		const char *ns = c->cluster_shell.namespace_ && *c->cluster_shell.namespace_
					 ? c->cluster_shell.namespace_
					 : cfg->cluster_shell.namespace_;
		char err[256];

		if (c->cluster_shell.enabled == 0 || cluster_kube_target(c, &target, err, sizeof err) != 0)
			continue;
		if (cluster_shell_sweep(db, &k, ns, NULL) < 0)
			log_msg(LOG_WARN, "sweep", "cluster %s: the sweep did not complete", c->name);
		kube_target_clear(&target);
	}
}
