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

/* The items of one kind labelled as this installation's (metadata only), or NULL when they
 * cannot be listed. */
static json_t *list_kind(const struct k8s_client *k, enum shell_object_kind kind, const char *ns)
{
	struct k8s_response r;
	char path[512], err[256];
	json_t *items = NULL;

	/* Namespaced kinds are this installation's by their namespace; cluster-scoped ones by
	 * the namespace label. */
	if (shell_collection_path(kind, ns, path, sizeof path) != 0)
		return NULL;
	snprintf(path + strlen(path), sizeof path - strlen(path),
		 "?labelSelector=" LABEL_MANAGED_BY "%%3Dperiscope%s%s",
		 strstr(path, "/namespaces/") ? "" : "%2C" LABEL_NAMESPACE "%3D",
		 strstr(path, "/namespaces/") ? "" : ns);
	if (k8s_call_accept(k, "GET", path, K8S_ACCEPT_METADATA_LIST, NULL, &r, err, sizeof err) == 0 &&
	    r.status == 200 &&
	    json_is_array(json_object_get(r.body, "items")))
		items = json_incref(json_object_get(r.body, "items"));
	k8s_response_clear(&r);
	return items;
}

/* Deletes the listed objects whose session has no live row. */
static int delete_dead(const struct k8s_client *k, enum shell_object_kind kind, const char *ns,
		       json_t *items, json_t *live, const char *keep_session)
{
	char err[256];
	json_t *item;
	size_t j;
	int deleted = 0;

	json_array_foreach(items, j, item) {
		json_t *meta = json_object_get(item, "metadata");
		const char *id = json_string_value(json_object_get(json_object_get(meta, "labels"),
								   LABEL_SESSION));
		const char *name = json_string_value(json_object_get(meta, "name"));

		if (!id || !name || (keep_session && strcmp(id, keep_session) == 0) ||
		    json_object_get(live, id))
			continue;
		if (delete_object(k, kind, ns, name, err, sizeof err) == 0) {
			deleted++;
			log_json(LOG_INFO, "sweep", "deleted an orphan of a dead session",
				 json_pack("{s:s, s:s, s:s}", "kind", shell_object_resource(kind), "name",
					   name, "session_id", id));
		}
	}
	return deleted;
}

int cluster_shell_sweep(struct dbx *db, const char *replica, bool leases,
			const struct k8s_client *k, const char *ns, const char *keep_session)
{
	json_t *lists[SHELL_OBJ_KINDS] = { 0 }, *live = NULL;
	int deleted = 0;
	bool complete = true;

	if ((leases ? shell_registry_reap_dbx(db, replica, NULL)
		    : shell_registry_reap_pids_dbx(db, replica, NULL)) < 0)
		return -1;
	/* A kind that cannot be listed does not keep the others from being swept. */
	for (int kind = 0; kind < SHELL_OBJ_KINDS; kind++) {
		lists[kind] = list_kind(k, (enum shell_object_kind)kind, ns);
		complete = complete && lists[kind];
	}
	/* The live rows once, after the lists: a session has its row before it makes its
	 * objects (wsbridge/main.c admits it, then wsbridge/cluster_shell.c creates them), so
	 * every listed object of a live session has its row in this read. */
	live = shell_registry_live_ids_dbx(db, replica, leases);
	if (!live) {
		complete = false;
		goto done;
	}
	for (int kind = 0; kind < SHELL_OBJ_KINDS; kind++)
		deleted += delete_dead(k, (enum shell_object_kind)kind, ns, lists[kind], live, keep_session);
done:
	json_decref(live);
	for (int kind = 0; kind < SHELL_OBJ_KINDS; kind++)
		json_decref(lists[kind]);
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
		/* One connection for the pass's lists and deletions (NULL: one each). */
		struct k8s_client k = { .target = &target, .share = http_share_new() };
		const char *ns = c->cluster_shell.namespace_ && *c->cluster_shell.namespace_
					 ? c->cluster_shell.namespace_
					 : cfg->cluster_shell.namespace_;
		char err[256];

		if (c->cluster_shell.enabled != 0 &&
		    cluster_kube_target(c, creds, &target, err, sizeof err) == 0) {
			if (cluster_shell_sweep(db, cfg->database.replica_id, leases, &k, ns, NULL) < 0)
				log_msg(LOG_WARN, "sweep", "cluster %s: the sweep did not complete", c->name);
			kube_target_clear(&target);
		}
		http_share_free(k.share);
	}
}
