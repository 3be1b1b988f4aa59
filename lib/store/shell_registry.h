/* Live terminal sessions and their caps, in the shared database (shell_sessions), shared by
 * every periscope-wsbridge process of every replica. Admission is one write transaction: count; at a cap, reap
 * the rows whose process is gone and count again; insert. So N concurrent opens never
 * exceed a cap, and a process that died (even by SIGKILL) leaves no slot taken; under the
 * caps a dead row waits for periscope.fcgi's maintenance pass (every 15 s), so an open
 * costs the same at 5 sessions as at 500. A process is identified by its pid and
 * its start time, so a recycled pid does not keep a dead session alive, and by the host's
 * boot id, so a row left by a reboot is dead once its heartbeat is stale.
 *
 * Across replicas (PostgreSQL, issue 15): the admission locks the actor's and the cluster's
 * caps (pg_advisory_xact_lock) before counting, so opens racing on different machines never
 * exceed a cap either; and a row's life is a lease. Each row names its replica
 * (database.replicaId); a replica judges its own rows by pid as above, anyone else's by
 * the heartbeat: alive while younger than SHELL_LEASE_MS. So the reaper of any replica
 * closes the sessions of a replica that died (docs/deployment.md "N replicas").
 *
 * The row is also the claim on the session's one close row: whoever deletes it writes the
 * close row, in the same transaction. The bridge does at its normal close
 * (shell_registry_close); a reap does for a process that is gone, with reason "lost"
 * (store/shell_lost.h). So every admitted session gets exactly one close row. */
#ifndef PERISCOPE_SHELL_REGISTRY_H
#define PERISCOPE_SHELL_REGISTRY_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct dbx;

struct shell_slot {
	const char *id;          /* session id (UUID) */
	const char *kind;        /* "cluster_shell" | "node_shell" */
	const char *actor;       /* OIDC sub */
	const char *cluster;
	const char *target;      /* node name, or NULL */
	const char *tier;
	const char *mode;
	const char *actor_email;
	const char *actor_groups_json; /* JSON array, or NULL */
	pid_t pid;               /* the owning process */
	const char *replica;     /* the replica it runs on (database.replicaId); NULL = none */
	const char *detail_json; /* optional JSON object (pod, secret, instance, ...) */
};

struct shell_caps {
	int per_user;            /* sessions of this kind per actor, all clusters */
	int per_cluster;         /* sessions of this kind per cluster, all actors */
};

enum admit_result { ADMIT_OK, ADMIT_CAP_USER, ADMIT_CAP_CLUSTER, ADMIT_ERROR };

/* On a cap refusal, *active (when not NULL) gets the JSON array of the sessions that hold
 * the cap: [{id, cluster, target?, tier, mode?, startedAt}]. */
enum admit_result shell_registry_admit(sqlite3 *db, const struct shell_slot *slot,
				       const struct shell_caps *caps, json_t **active,
				       char *err, size_t errlen);
/* The same counts without taking a slot (the authorizer's early answer). */
enum admit_result shell_registry_check(sqlite3 *db, const char *kind, const char *actor,
				       const char *cluster, const struct shell_caps *caps,
				       json_t **active, char *err, size_t errlen);
int shell_registry_release(sqlite3 *db, const char *id);
/* The bridge's heartbeat: its row's last sign of life and the bytes so far, which a lost
 * close row reports. Every SHELL_HEARTBEAT_MS. */
#define SHELL_HEARTBEAT_MS 10000
/* A row from another boot of the host (a reboot), or from another replica, is dead once its
 * heartbeat is this old: the lease. Three heartbeats, so that one late write (a busy
 * database, a failover of a few seconds) does not lose a live terminal; with the reaper's
 * 15 s pass, a dead replica's sessions are closed within 45 s. */
#define SHELL_HEARTBEAT_STALE_MS 30000
#define SHELL_LEASE_MS SHELL_HEARTBEAT_STALE_MS
int shell_registry_heartbeat(sqlite3 *db, const char *id, long long now_ms, long long bytes_in,
			     long long bytes_out);
struct audit_event;
/* The normal close: deletes the row and writes the close row ev in one transaction.
 * 1 written, 0 the row was already gone (a reap wrote the close row: none is written
 * twice), -1 error (nothing written: the row stays for a reap). */
int shell_registry_close(sqlite3 *db, const char *id, const struct audit_event *ev);
int shell_registry_set_detail(sqlite3 *db, const char *id, const char *detail_json);
/* Deletes rows whose process is gone, each with its close row (reason "lost"); returns
 * how many, or -1. *reaped (when not NULL) gets their rows [{id, kind, cluster, detail}]
 * so the caller can clean up after them. */
int shell_registry_reap(sqlite3 *db, json_t **reaped);
/* 1 when the session id has a live row, 0 when not, -1 on error. */
int shell_registry_is_live(sqlite3 *db, const char *id);

/* The same on a dbx connection (either engine). replica: this process's replica id (NULL:
 * none, then only rows without one, or from another boot, are judged by pid). */
enum admit_result shell_registry_admit_dbx(struct dbx *db, const struct shell_slot *slot,
					   const struct shell_caps *caps, json_t **active,
					   char *err, size_t errlen);
enum admit_result shell_registry_check_dbx(struct dbx *db, const char *kind, const char *actor,
					   const char *cluster, const struct shell_caps *caps,
					   const char *replica, json_t **active, char *err,
					   size_t errlen);
int shell_registry_release_dbx(struct dbx *db, const char *id);
int shell_registry_heartbeat_dbx(struct dbx *db, const char *id, long long now_ms,
				 long long bytes_in, long long bytes_out);
int shell_registry_close_dbx(struct dbx *db, const char *id, const struct audit_event *ev);
int shell_registry_set_detail_dbx(struct dbx *db, const char *id, const char *detail_json);
int shell_registry_reap_dbx(struct dbx *db, const char *replica, json_t **reaped);
/* Only the rows judged by pid (this replica's, this boot's): what a reaper may close while
 * it cannot trust the leases, just after the database came back (store/maintenance). */
int shell_registry_reap_pids_dbx(struct dbx *db, const char *replica, json_t **reaped);
int shell_registry_is_live_dbx(struct dbx *db, const char *id, const char *replica);
/* The same, with a row judged by lease counting as live. */
int shell_registry_is_live_pids_dbx(struct dbx *db, const char *id, const char *replica);
/* The ids of every live row, judged as shell_registry_is_live_dbx judges one (leases false:
 * as shell_registry_is_live_pids_dbx), as the keys of a JSON object; NULL on error. One read
 * of the registry for a whole sweep (k8s/cluster_shell_sweep.c). */
json_t *shell_registry_live_ids_dbx(struct dbx *db, const char *replica, bool leases);

/* The kernel's start time of a process (clock ticks since boot, /proc/PID/stat field 22):
 * with the pid, it names one process for good. 0 or -1 when the process does not exist. */
int process_start_ticks(pid_t pid, unsigned long long *ticks);
/* This boot of the host (/proc/sys/kernel/random/boot_id) into out (at least 40 bytes).
 * 0, or -1. */
int host_boot_id(char *out, size_t outlen);

#endif
