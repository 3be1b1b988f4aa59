#include "k8s/cluster_shell_sweep.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "k8s/cluster_access.h"
#include "k8s/cluster_shell_spec.h"
#include "core/log.h"
#include "store/dbx.h"
#include "store/shell_registry.h"

/* DELETE of one object; one already gone counts as deleted. 0, or -1 with err. */
static int delete_object(const struct k8s_client *k, enum shell_object_kind kind, const char *ns,
			 const char *name, char *err, size_t errlen)
{
	struct k8s_response r;
	char path[512];
	int rc = -1;

	if (shell_collection_path(kind, ns, path, sizeof path) != 0 ||
	    strlen(path) + strlen(name) + 32 > sizeof path) {
		snprintf(err, errlen, "the name is too long");
		return -1;
	}
	snprintf(path + strlen(path), sizeof path - strlen(path), "/%s?gracePeriodSeconds=0", name);
	if (k8s_call(k, "DELETE", path, NULL, &r, err, errlen) != 0)
		return -1;
	if (r.status / 100 == 2 || r.status == 404)
		rc = 0;
	else
		snprintf(err, errlen, "HTTP %ld: %s", r.status, k8s_status_text(&r));
	k8s_response_clear(&r);
	return rc;
}

int cluster_shell_delete_session(const struct k8s_client *k, const char *ns,
				 const char *session_id, unsigned kinds)
{
	char name[64], err[256];
	int failed = 0;

	if (shell_object_name(session_id, name, sizeof name) != 0)
		return SHELL_OBJ_KINDS;
	for (int kind = 0; kind < SHELL_OBJ_KINDS; kind++) {
		if (!(kinds & (1u << kind)))
			continue;
		if (delete_object(k, (enum shell_object_kind)kind, ns, name, err, sizeof err) != 0) {
			log_msg(LOG_WARN, "cluster_shell", "delete %s/%s: %s",
				shell_object_resource((enum shell_object_kind)kind), name, err);
			failed++;
		}
	}
	return failed;
}

/* Deletes the objects of one kind whose session is dead. -1 when they cannot be listed. */
static int sweep_kind(struct dbx *db, const char *replica, bool leases,
		      const struct k8s_client *k, enum shell_object_kind kind, const char *ns,
		      const char *keep_session)
{
	struct k8s_response r;
	char path[512], err[256];
	json_t *item;
	size_t j;
	int deleted = 0;

	/* Namespaced kinds are this installation's by their namespace; cluster-scoped ones by
	 * the namespace label. */
	if (shell_collection_path(kind, ns, path, sizeof path) != 0)
		return -1;
	snprintf(path + strlen(path), sizeof path - strlen(path),
		 "?labelSelector=" LABEL_MANAGED_BY "%%3Dperiscope%s%s",
		 strstr(path, "/namespaces/") ? "" : "%2C" LABEL_NAMESPACE "%3D",
		 strstr(path, "/namespaces/") ? "" : ns);
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
		    (leases ? shell_registry_is_live_dbx(db, id, replica)
			    : shell_registry_is_live_pids_dbx(db, id, replica)) != 0)
			continue;
		if (delete_object(k, kind, ns, name, err, sizeof err) == 0) {
			deleted++;
			log_json(LOG_INFO, "sweep", "deleted an orphan of a dead session",
				 json_pack("{s:s, s:s, s:s}", "kind", shell_object_resource(kind), "name",
					   name, "session_id", id));
		}
	}
	k8s_response_clear(&r);
	return deleted;
}

int cluster_shell_sweep(struct dbx *db, const char *replica, bool leases,
			const struct k8s_client *k, const char *ns, const char *keep_session)
{
	int deleted = 0;
	bool complete = true;

	if ((leases ? shell_registry_reap_dbx(db, replica, NULL)
		    : shell_registry_reap_pids_dbx(db, replica, NULL)) < 0)
		return -1;
	/* A kind that cannot be listed does not keep the others from being swept. */
	for (int kind = 0; kind < SHELL_OBJ_KINDS; kind++) {
		int n = sweep_kind(db, replica, leases, k, (enum shell_object_kind)kind, ns, keep_session);

		if (n < 0)
			complete = false;
		else
			deleted += n;
	}
	return complete ? deleted : -1;
}

int cluster_shell_sweep_reaped(struct dbx *db, const char *replica, const struct k8s_client *k,
			       const char *cluster, const char *ns)
{
	json_t *reaped = NULL, *row;
	size_t i;
	int deleted = 0;

	if (shell_registry_reap_dbx(db, replica, &reaped) < 0)
		return -1;
	json_array_foreach(reaped, i, row) {
		const char *kind = json_string_value(json_object_get(row, "kind"));
		const char *on = json_string_value(json_object_get(row, "cluster"));
		const char *id = json_string_value(json_object_get(row, "id"));
		/* The namespace its pod was made in (none yet when it died before its pod). */
		const char *in = json_string_value(json_object_get(json_object_get(row, "detail"), "namespace"));

		if (!kind || strcmp(kind, "cluster_shell") != 0 || !on || strcmp(on, cluster) != 0 || !id ||
		    (in && strcmp(in, ns) != 0))
			continue;
		if (cluster_shell_delete_session(k, ns, id, SHELL_OBJ_ALL) == 0) {
			deleted++;
			log_json(LOG_INFO, "sweep", "deleted the objects of a dead session",
				 json_pack("{s:s}", "session_id", id));
		}
	}
	json_decref(reaped);
	return deleted;
}

void cluster_shell_sweep_all(const struct config *cfg, struct dbx *db, bool leases,
			     struct cred_cache *creds)
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

		if (c->cluster_shell.enabled == 0 || cluster_kube_target(c, creds, &target, err, sizeof err) != 0)
			continue;
		if (cluster_shell_sweep(db, cfg->database.replica_id, leases, &k, ns, NULL) < 0)
			log_msg(LOG_WARN, "sweep", "cluster %s: the sweep did not complete", c->name);
		kube_target_clear(&target);
	}
}
