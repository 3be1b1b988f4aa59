/* Removing a cluster-shell session's Kubernetes objects (cluster_shell_spec.h: its Pod,
 * Secret, ClusterRoleBinding, ClusterRole and ServiceAccount), at teardown and for sessions
 * that died without one. A SIGKILLed session leaves its registry row (its process is gone)
 * and its labelled objects: the sweep reaps the rows, then deletes every object labelled
 * managed-by=periscope (cluster-scoped ones: and with this shell namespace) whose session
 * has no live row. Runs every 15 s from periscope.fcgi's maintenance thread; a cluster
 * shell that starts does the cheap part (cluster_shell_sweep_reaped). With several replicas
 * (issue 15) any replica's pass does it for all: a row is live by its lease (replica is this
 * process's database.replicaId, store/shell_registry.h). */
#ifndef PERISCOPE_CLUSTER_SHELL_SWEEP_H
#define PERISCOPE_CLUSTER_SHELL_SWEEP_H

#include <stdbool.h>

struct dbx;

#include "config/config.h"
#include "k8s/eks_access.h"
#include "k8s/k8s_client.h"

/* Deletes the objects of one session, found by name, in shell_kind order (the Pod first:
 * that ends its token), those of the kinds in `kinds` (a mask of 1u << enum shell_object_kind;
 * SHELL_OBJ_ALL for a session whose progress is unknown). An object already gone counts
 * as deleted. Returns how many deletions failed (0 = nothing of the session is left). */
int cluster_shell_delete_session(const struct k8s_client *k, const char *ns,
				 const char *session_id, unsigned kinds);

/* Returns how many objects were deleted, or -1. keep_session: a session id never swept
 * (the caller's own, which may not be registered yet), or NULL. */
int cluster_shell_sweep(struct dbx *db, const char *replica, bool leases,
			const struct k8s_client *k, const char *ns, const char *keep_session);
/* At a cluster shell's start: reaps the registry rows whose process is gone (with their
 * close rows) and deletes, by name, the objects of those that were cluster shells on this
 * cluster and namespace. No listing: the full sweep lists every session's objects and looks
 * up each one's row, which made every open cost O(sessions) (at 300 live terminals, 88 % of
 * an open's instructions); it stays with the maintenance pass, which also finds what a
 * session whose row was reaped elsewhere left. Returns how many sessions were cleared, -1
 * when the registry could not be read. */
int cluster_shell_sweep_reaped(struct dbx *db, const char *replica, const struct k8s_client *k,
			       const char *cluster, const char *ns);
/* The sweep for every cluster whose shell is enabled and reachable. leases: other replicas'
 * rows are judged by their lease; false just after the database came back, when they count
 * as live (fcgi/maintenance.c). */
void cluster_shell_sweep_all(const struct config *cfg, struct dbx *db, bool leases,
			     struct cred_cache *creds);

#endif
