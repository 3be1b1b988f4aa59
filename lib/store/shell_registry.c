#include "store/shell_registry.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/audit.h"
#include "store/db.h"
#include "store/dbx.h"
#include "store/shell_lost.h"
#include "core/log.h"
#include "core/timeutil.h"

int process_start_ticks(pid_t pid, unsigned long long *ticks)
{
	char path[64], line[1024];
	const char *p;
	FILE *f;
	size_t n;
	int field;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(line, 1, sizeof line - 1, f);
	fclose(f);
	line[n] = '\0';
	/* The command name (field 2) is in parentheses and may hold spaces: count from the
	 * last ')'. Field 3 follows it; start time is field 22. */
	p = strrchr(line, ')');
	if (!p)
		return -1;
	for (field = 2; field < 21 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", ticks) != 1)
		return -1;
	return 0;
}

int host_boot_id(char *out, size_t outlen)
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
	int rc = -1;

	if (!f)
		return -1;
	if (fgets(out, (int)outlen, f)) {
		out[strcspn(out, "\n")] = '\0';
		rc = *out ? 0 : -1;
	}
	fclose(f);
	return rc;
}

/* Ported onto dbx.h (docs/HACKING.md "Storage engines"): each function takes a struct
 * dbx; the sqlite3 * API of shell_registry.h wraps the same code around a borrowed handle,
 * with no replica id (rows judged by pid, as on one machine before issue 15). */

/* Who judges a row, and how (store/shell_registry.h): a row of this replica and this boot
 * (or one that predates the column) is alive while its process is, by pid and start time.
 * A row of another boot of this host (a reboot) cannot be checked by pid: alive while its
 * heartbeat is fresh. A row of another replica is alive while that replica's lease is:
 * any heartbeat of that replica (and boot) fresh. A replica that is alive judges its own
 * rows by pid; another replica closes its rows only when it is dead as a whole, so a
 * bridge that is merely late (its connection reconnecting) keeps its terminal. */
static bool of_another_replica(const char *row_replica, const char *replica)
{
	return row_replica && (!replica || strcmp(row_replica, replica) != 0);
}

static bool judged_by_pid(const char *row_replica, const char *row_boot, const char *replica,
			  const char *boot_id)
{
	if (of_another_replica(row_replica, replica))
		return false;
	return !(row_boot && boot_id && strcmp(row_boot, boot_id) != 0);
}

/* beat_col: the row's heartbeat; beat_col + 1: the newest of its replica and boot. */
static bool row_is_live(struct dbx_stmt *st, int pid_col, int ticks_col, int boot_col,
			int beat_col, int replica_col, const char *replica, const char *boot_id,
			long long now)
{
	const char *row_replica = dbx_column_text(st, replica_col);
	unsigned long long now_ticks;
	pid_t pid = (pid_t)dbx_column_int64(st, pid_col);

	if (of_another_replica(row_replica, replica))
		return now - dbx_column_int64(st, beat_col + 1) < SHELL_LEASE_MS;
	if (!judged_by_pid(row_replica, dbx_column_text(st, boot_col), replica, boot_id))
		return now - dbx_column_int64(st, beat_col) < SHELL_LEASE_MS;
	return process_start_ticks(pid, &now_ticks) == 0 &&
	       now_ticks == (unsigned long long)dbx_column_int64(st, ticks_col);
}

#define REGISTRY_ROW_COLUMNS                                                                  \
	"id, kind, cluster, detail, pid, pid_start_ticks, boot_id, heartbeat_at_ms, actor_sub,"  \
	" actor_email, actor_groups, target, tier, mode, started_at_ms, bytes_in, bytes_out,"   \
	" replica_id"

/* The dead rows, as JSON objects, collected before any is claimed (no write while the
 * list is read). In id order, so that reapers on several replicas meet the rows in the
 * same order. */
static json_t *dead_rows(struct dbx *db, const char *replica, bool leases)
{
	/* Columns 18 and 19: the row's heartbeat again, and the newest of its replica and boot
	 * (that replica's lease), side by side for row_is_live. */
	static const char sql[] = "SELECT " REGISTRY_ROW_COLUMNS ", heartbeat_at_ms, max(heartbeat_at_ms)"
				  " OVER (PARTITION BY replica_id, boot_id) FROM shell_sessions ORDER BY id";
	char boot[64];
	const char *boot_id = host_boot_id(boot, sizeof boot) == 0 ? boot : NULL;
	long long now = now_ms();
	struct dbx_stmt *st = NULL;
	json_t *rows = json_array();
	enum dbx_step step;

	if (!rows || dbx_prepare(db, sql, &st) != 0)
		goto fail;
	while ((step = dbx_step(st)) == DBX_ROW) {
		const char *detail = dbx_column_text(st, 3);
		const char *groups = dbx_column_text(st, 10);
		bool by_pid = judged_by_pid(dbx_column_text(st, 17), dbx_column_text(st, 6), replica,
					    boot_id);
		json_t *d, *g, *row;

		if (row_is_live(st, 4, 5, 6, 18, 17, replica, boot_id, now) || (!leases && !by_pid))
			continue;
		d = detail ? json_loads(detail, 0, NULL) : NULL;
		g = groups ? json_loads(groups, 0, NULL) : NULL;
		row = json_pack("{s:s, s:s, s:s, s:o, s:s, s:s?, s:o, s:s?, s:s?, s:s?, s:I, s:I, s:I, s:I}",
				"id", dbx_column_text(st, 0), "kind", dbx_column_text(st, 1),
				"cluster", dbx_column_text(st, 2), "detail", d ? d : json_object(),
				"actor_sub", dbx_column_text(st, 8), "actor_email",
				dbx_column_text(st, 9), "actor_groups", g ? g : json_array(),
				"target", dbx_column_text(st, 11), "tier", dbx_column_text(st, 12),
				"mode", dbx_column_text(st, 13), "started_at_ms",
				(json_int_t)dbx_column_int64(st, 14), "heartbeat_at_ms",
				(json_int_t)dbx_column_int64(st, 7), "bytes_in",
				(json_int_t)dbx_column_int64(st, 15), "bytes_out",
				(json_int_t)dbx_column_int64(st, 16));
		/* Another replica's row is claimed only while that replica stays dead. */
		if (row && of_another_replica(dbx_column_text(st, 17), replica))
			json_object_set_new(row, "lease", json_pack("{s:s, s:s}", "replica",
								   dbx_column_text(st, 17) ? dbx_column_text(st, 17) : "",
								   "boot", dbx_column_text(st, 6) ? dbx_column_text(st, 6) : ""));
		if (!row || json_array_append_new(rows, row) != 0)
			goto fail;
	}
	if (step != DBX_DONE)
		goto fail;
	dbx_finalize(st);
	return rows;
fail:
	dbx_finalize(st);
	json_decref(rows);
	return NULL;
}

/* Deletes the row of session id; 1 when this call did (the claim on its close row), 0 when
 * it was gone already, -1 on error. A reap (lost_row given) claims the row only as it saw
 * it dead: a heartbeat since (a late lease renewed) keeps it. On PostgreSQL a reap also
 * skips a row another transaction holds (another replica's reaper, or a terminate request
 * being written): waiting for it while holding the audit chain could deadlock with it, and
 * whoever holds it writes the close row, or leaves the row for the next pass. */
/* A lease-judged claim also holds only while no heartbeat of the row's replica and boot
 * (?3, ?4) is fresher than the lease (?5): one of its bridges renewing meanwhile (the
 * database just came back) keeps them all. */
#define LEASE_STILL_EXPIRED                                                                   \
	" AND NOT EXISTS (SELECT 1 FROM shell_sessions s2 WHERE coalesce(s2.replica_id, '') = ?3" \
	" AND coalesce(s2.boot_id, '') = ?4 AND s2.heartbeat_at_ms > ?5)"

static int claim_row(struct dbx *db, const char *id, const json_t *lost_row)
{
	static const char close_sql[] = "DELETE FROM shell_sessions WHERE id = ?1";
	static const char reap_sql[] =
		"DELETE FROM shell_sessions WHERE id = ?1 AND coalesce(heartbeat_at_ms, 0) = ?2";
	static const char reap_pg[] =
		"DELETE FROM shell_sessions WHERE id = (SELECT id FROM shell_sessions WHERE id = ?1"
		" AND coalesce(heartbeat_at_ms, 0) = ?2 FOR UPDATE SKIP LOCKED)";
	static const char lease_sql[] =
		"DELETE FROM shell_sessions WHERE id = ?1 AND coalesce(heartbeat_at_ms, 0) = ?2"
		LEASE_STILL_EXPIRED;
	static const char lease_pg[] =
		"DELETE FROM shell_sessions WHERE id = (SELECT id FROM shell_sessions WHERE id = ?1"
		" AND coalesce(heartbeat_at_ms, 0) = ?2 FOR UPDATE SKIP LOCKED)" LEASE_STILL_EXPIRED;
	const json_t *lease = lost_row ? json_object_get(lost_row, "lease") : NULL;
	struct dbx_stmt *st = NULL;
	int rc = -1;

	if (dbx_prepare(db, !lost_row ? close_sql
				      : lease ? dbx_sql(db, lease_sql, lease_pg)
					      : dbx_sql(db, reap_sql, reap_pg), &st) != 0)
		return -1;
	dbx_bind_text(st, 1, id);
	if (lost_row)
		dbx_bind_int64(st, 2, json_integer_value(json_object_get(lost_row, "heartbeat_at_ms")));
	if (lease) {
		dbx_bind_text(st, 3, json_string_value(json_object_get(lease, "replica")));
		dbx_bind_text(st, 4, json_string_value(json_object_get(lease, "boot")));
		dbx_bind_int64(st, 5, now_ms() - SHELL_LEASE_MS);
	}
	if (dbx_step(st) == DBX_DONE)
		rc = dbx_changes(st) == 1 ? 1 : 0;
	dbx_finalize(st);
	return rc;
}

/* Inside the admission's transaction: a savepoint. Elsewhere: a write transaction (SQLite's
 * BEGIN IMMEDIATE waits for the write lock up front: a deferred transaction that reads
 * first may fail to upgrade under a concurrent writer, and a bridge's close row must not be
 * lost to that). */
struct claim_txn {
	bool own;
};

static int txn_begin(struct dbx *db, struct claim_txn *t)
{
	t->own = !dbx_in_transaction(db);
	if (t->own)
		return dbx_begin_write(db);
	return dbx_run(db, "SAVEPOINT shell_close", NULL, "");
}

static int txn_commit(struct dbx *db, const struct claim_txn *t)
{
	if (t->own)
		return dbx_commit(db);
	return dbx_run(db, "RELEASE SAVEPOINT shell_close", NULL, "");
}

static void txn_abort(struct dbx *db, const struct claim_txn *t)
{
	if (t->own) {
		dbx_rollback(db);
		return;
	}
	dbx_run(db, "ROLLBACK TO SAVEPOINT shell_close", NULL, "");
	dbx_run(db, "RELEASE SAVEPOINT shell_close", NULL, "");
}

/* The close row: the bridge's own event, or the reaper's "lost" one. */
static int write_close_row(struct dbx *db, const struct audit_event *ev, const json_t *lost_row)
{
	return ev ? shell_close_row_write(db, ev) : shell_lost_write_dbx(db, lost_row);
}

/* Claims the row and writes its close row, all or nothing. 1, 0 (claimed by another), -1. */
static int claim_and_write(struct dbx *db, const char *id, const struct audit_event *ev,
			   const json_t *lost_row)
{
	struct claim_txn t;
	int claimed;

	if (txn_begin(db, &t) != 0)
		return -1;
	claimed = claim_row(db, id, lost_row);
	if (claimed < 0)
		goto fail;
	if (claimed == 1 && write_close_row(db, ev, lost_row) != 0)
		goto fail;
	if (txn_commit(db, &t) != 0)
		goto fail;
	return claimed;
fail:
	txn_abort(db, &t);
	return -1;
}

int shell_registry_close_dbx(struct dbx *db, const char *id, const struct audit_event *ev)
{
	return claim_and_write(db, id, ev, NULL);
}

static int reap(struct dbx *db, const char *replica, bool leases, json_t **reaped)
{
	json_t *rows = dead_rows(db, replica, leases), *row, *out = reaped ? json_array() : NULL;
	size_t i;
	int count = 0;

	if (!rows || (reaped && !out))
		goto fail;
	json_array_foreach(rows, i, row) {
		const char *id = json_string_value(json_object_get(row, "id"));
		int claimed = claim_and_write(db, id, NULL, row);

		if (claimed < 0)
			goto fail;
		if (claimed == 0)
			continue; /* another process claimed it meanwhile, or it came back to life */
		if (out)
			json_array_append_new(out, json_pack("{s:O, s:O, s:O, s:O}", "id",
							     json_object_get(row, "id"), "kind",
							     json_object_get(row, "kind"), "cluster",
							     json_object_get(row, "cluster"), "detail",
							     json_object_get(row, "detail")));
		count++;
	}
	json_decref(rows);
	if (reaped)
		*reaped = out;
	return count;
fail:
	json_decref(rows);
	json_decref(out);
	return -1;
}

int shell_registry_reap_dbx(struct dbx *db, const char *replica, json_t **reaped)
{
	return reap(db, replica, true, reaped);
}

int shell_registry_reap_pids_dbx(struct dbx *db, const char *replica, json_t **reaped)
{
	return reap(db, replica, false, reaped);
}

static int count_rows(struct dbx *db, const char *sql, const char *kind, const char *value, int *n)
{
	struct dbx_stmt *st = NULL;
	int rc = -1;

	if (dbx_prepare(db, sql, &st) != 0)
		return -1;
	dbx_bind_text(st, 1, kind);
	dbx_bind_text(st, 2, value);
	if (dbx_step(st) == DBX_ROW) {
		*n = (int)dbx_column_int64(st, 0);
		rc = 0;
	}
	dbx_finalize(st);
	return rc;
}

/* The caller's own sessions of this kind (on one cluster when cluster is not NULL): what a
 * 429 answer may show without revealing anyone else's sessions. */
static json_t *list_active(struct dbx *db, const char *kind, const char *actor, const char *cluster)
{
	static const char sql[] =
		"SELECT id, cluster, target, tier, mode, started_at_ms FROM shell_sessions"
		" WHERE kind = ?1 AND actor_sub = ?2 AND (CAST(?3 AS TEXT) IS NULL OR cluster = ?3)"
		" ORDER BY started_at_ms";
	struct dbx_stmt *st = NULL;
	json_t *list = json_array();

	if (!list || dbx_prepare(db, sql, &st) != 0)
		goto done;
	dbx_bind_text(st, 1, kind);
	dbx_bind_text(st, 2, actor);
	dbx_bind_text_or_null(st, 3, cluster);
	while (dbx_step(st) == DBX_ROW) {
		char started[40];
		json_t *item;

		format_rfc3339_ms(dbx_column_int64(st, 5), started, sizeof started);
		item = json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:s}", "id", dbx_column_text(st, 0),
				 "cluster", dbx_column_text(st, 1), "target",
				 dbx_column_text(st, 2), "tier", dbx_column_text(st, 3), "mode",
				 dbx_column_text(st, 4), "startedAt", started);
		if (item)
			json_array_append_new(list, item);
	}
done:
	dbx_finalize(st);
	return list;
}

/* Counts against the caps; the caller holds the write transaction when admitting. */
static enum admit_result check_caps(struct dbx *db, const char *kind, const char *actor,
				    const char *cluster, const struct shell_caps *caps,
				    json_t **active, char *err, size_t errlen)
{
	int per_user = 0, per_cluster = 0;

	if (count_rows(db, "SELECT COUNT(*) FROM shell_sessions WHERE kind = ? AND actor_sub = ?",
		       kind, actor, &per_user) != 0 ||
	    count_rows(db, "SELECT COUNT(*) FROM shell_sessions WHERE kind = ? AND cluster = ?",
		       kind, cluster, &per_cluster) != 0) {
		snprintf(err, errlen, "cannot count sessions: %s", dbx_errmsg(db));
		return ADMIT_ERROR;
	}
	if (per_user >= caps->per_user) {
		if (active)
			*active = list_active(db, kind, actor, NULL);
		return ADMIT_CAP_USER;
	}
	if (per_cluster >= caps->per_cluster) {
		if (active)
			*active = list_active(db, kind, actor, cluster);
		return ADMIT_CAP_CLUSTER;
	}
	return ADMIT_OK;
}

/* The counts, reaping only when they refuse: a reap reads /proc for every row, so reaping
 * on every open made each open cost O(sessions) under the registry's write lock (at 500
 * sessions, most of an open's CPU, and every heartbeat waiting behind it). A dead row can
 * only make a count too high, never admit too many: under the caps it does no harm, and
 * periscope.fcgi's maintenance pass reaps it (and writes its "lost" close row) within 15 s.
 * At a cap, the dead rows are reaped and the caps counted again, so a killed session
 * never keeps its owner out. */
static enum admit_result check_caps_reaping(struct dbx *db, const char *kind, const char *actor,
					    const char *cluster, const struct shell_caps *caps,
					    const char *replica, json_t **active, char *err,
					    size_t errlen)
{
	enum admit_result r = check_caps(db, kind, actor, cluster, caps, NULL, err, errlen);

	if (r != ADMIT_CAP_USER && r != ADMIT_CAP_CLUSTER)
		return r;
	if (shell_registry_reap_dbx(db, replica, NULL) < 0) {
		snprintf(err, errlen, "cannot reap sessions: %s", dbx_errmsg(db));
		return ADMIT_ERROR;
	}
	return check_caps(db, kind, actor, cluster, caps, active, err, errlen);
}

enum admit_result shell_registry_check_dbx(struct dbx *db, const char *kind, const char *actor,
					   const char *cluster, const struct shell_caps *caps,
					   const char *replica, json_t **active, char *err,
					   size_t errlen)
{
	return check_caps_reaping(db, kind, actor, cluster, caps, replica, active, err, errlen);
}

/* PostgreSQL's BEGIN locks nothing (read committed): two replicas admitting at once would
 * both count below a cap. The actor's caps and then the cluster's are locked for the rest
 * of the transaction, so admissions that share either are one at a time, and those that
 * share neither do not wait. The two keys are in separate classes (1 and 2) and always
 * taken in that order, so two admissions never wait on each other in a cycle. SQLite's
 * BEGIN IMMEDIATE has locked the whole database already. */
static int lock_caps(struct dbx *db, const char *kind, const char *actor, const char *cluster)
{
	static const char *const sql[] = {
		"SELECT pg_advisory_xact_lock(1, hashtext(?1 || ':' || ?2))",
		"SELECT pg_advisory_xact_lock(2, hashtext(?1 || ':' || ?2))",
	};
	const char *keys[] = { actor, cluster };

	if (db->engine != DBX_POSTGRES)
		return 0;
	for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
		struct dbx_stmt *st = NULL;
		enum dbx_step step;

		if (dbx_prepare(db, sql[i], &st) != 0)
			return -1;
		dbx_bind_text(st, 1, kind);
		dbx_bind_text(st, 2, keys[i]);
		step = dbx_step(st);
		dbx_finalize(st);
		if (step != DBX_ROW)
			return -1;
	}
	return 0;
}

enum admit_result shell_registry_admit_dbx(struct dbx *db, const struct shell_slot *slot,
					   const struct shell_caps *caps, json_t **active,
					   char *err, size_t errlen)
{
	static const char sql[] =
		"INSERT INTO shell_sessions (id, kind, actor_sub, cluster, target, tier, mode, pid,"
		" pid_start_ticks, started_at_ms, detail, actor_email, actor_groups, boot_id,"
		" heartbeat_at_ms, replica_id)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?10, ?15)";
	unsigned long long ticks;
	char boot[64];
	struct dbx_stmt *st = NULL;
	enum admit_result result = ADMIT_ERROR;

	if (active)
		*active = NULL;
	if (host_boot_id(boot, sizeof boot) != 0)
		boot[0] = '\0';
	if (process_start_ticks(slot->pid, &ticks) != 0) {
		snprintf(err, errlen, "cannot read the start time of process %d", (int)slot->pid);
		return ADMIT_ERROR;
	}
	if (dbx_begin_write(db) != 0 || lock_caps(db, slot->kind, slot->actor, slot->cluster) != 0) {
		snprintf(err, errlen, "cannot lock the session registry: %s", dbx_errmsg(db));
		goto done;
	}
	result = check_caps_reaping(db, slot->kind, slot->actor, slot->cluster, caps, slot->replica,
				    active, err, errlen);
	if (result != ADMIT_OK)
		goto done;
	result = ADMIT_ERROR;
	if (dbx_prepare(db, sql, &st) != 0)
		goto db_error;
	dbx_bind_text(st, 1, slot->id);
	dbx_bind_text(st, 2, slot->kind);
	dbx_bind_text(st, 3, slot->actor);
	dbx_bind_text(st, 4, slot->cluster);
	dbx_bind_text_or_null(st, 5, slot->target);
	dbx_bind_text_or_null(st, 6, slot->tier);
	dbx_bind_text_or_null(st, 7, slot->mode);
	dbx_bind_int64(st, 8, slot->pid);
	dbx_bind_int64(st, 9, (long long)ticks);
	dbx_bind_int64(st, 10, now_ms());
	dbx_bind_text_or_null(st, 11, slot->detail_json);
	dbx_bind_text_or_null(st, 12, slot->actor_email);
	dbx_bind_text_or_null(st, 13, slot->actor_groups_json);
	dbx_bind_text_or_null(st, 14, boot);
	dbx_bind_text_or_null(st, 15, slot->replica);
	if (dbx_step(st) != DBX_DONE || dbx_commit(db) != 0)
		goto db_error;
	dbx_finalize(st);
	return ADMIT_OK;
db_error:
	snprintf(err, errlen, "cannot register the session: %s", dbx_errmsg(db));
done:
	dbx_finalize(st);
	dbx_rollback(db);
	return result;
}

int shell_registry_release_dbx(struct dbx *db, const char *id)
{
	return dbx_run(db, "DELETE FROM shell_sessions WHERE id = ?1", NULL, "t", id);
}

int shell_registry_heartbeat_dbx(struct dbx *db, const char *id, long long now, long long bytes_in,
				 long long bytes_out)
{
	static const char sql[] = "UPDATE shell_sessions SET heartbeat_at_ms = ?2, bytes_in = ?3,"
				  " bytes_out = ?4 WHERE id = ?1";
	struct dbx_stmt *st = NULL;
	int rc = -1;

	/* Kept: every bridge runs it every SHELL_HEARTBEAT_MS (a prepare is most of its cost). */
	if (dbx_prepare_kept(db, sql, &st) != 0)
		return -1;
	dbx_bind_text(st, 1, id);
	dbx_bind_int64(st, 2, now);
	dbx_bind_int64(st, 3, bytes_in);
	dbx_bind_int64(st, 4, bytes_out);
	if (dbx_step(st) == DBX_DONE)
		rc = 0;
	dbx_finalize(st);
	return rc;
}

int shell_registry_set_detail_dbx(struct dbx *db, const char *id, const char *detail_json)
{
	return dbx_run(db, "UPDATE shell_sessions SET detail = ?2 WHERE id = ?1", NULL, "tn", id,
		       detail_json);
}

/* One pass over the registry: every row judged as dead_rows judges it (a row judged by lease
 * counts as live while leases are not trusted). One statement for all rows, so that a sweep
 * over N objects costs one scan, not one per object: the window that gives each row its
 * replica's lease cannot be narrowed to one id first, so a statement per id read and sorted
 * the whole table each time (at 500 terminals, 2,500 such scans per sweep). */
json_t *shell_registry_live_ids_dbx(struct dbx *db, const char *replica, bool leases)
{
	/* Column 5: the newest heartbeat of the row's replica and boot (its lease). */
	static const char sql[] = "SELECT id, pid, pid_start_ticks, boot_id, heartbeat_at_ms,"
				  " max(heartbeat_at_ms) OVER (PARTITION BY replica_id, boot_id), replica_id"
				  " FROM shell_sessions";
	char boot[64];
	const char *boot_id = host_boot_id(boot, sizeof boot) == 0 ? boot : NULL;
	long long now = now_ms();
	struct dbx_stmt *st = NULL;
	json_t *live = json_object();
	enum dbx_step step;

	if (!live || dbx_prepare(db, sql, &st) != 0)
		goto fail;
	while ((step = dbx_step(st)) == DBX_ROW) {
		const char *id = dbx_column_text(st, 0);

		if (!id || !(row_is_live(st, 1, 2, 3, 4, 6, replica, boot_id, now) ||
			     (!leases && !judged_by_pid(dbx_column_text(st, 6), dbx_column_text(st, 3),
							replica, boot_id))))
			continue;
		if (json_object_set_new(live, id, json_true()) != 0)
			goto fail;
	}
	if (step != DBX_DONE)
		goto fail;
	dbx_finalize(st);
	return live;
fail:
	dbx_finalize(st);
	json_decref(live);
	return NULL;
}

static int is_live(struct dbx *db, const char *id, const char *replica, bool leases)
{
	json_t *live = shell_registry_live_ids_dbx(db, replica, leases);
	int rc = live ? json_object_get(live, id) != NULL : -1;

	json_decref(live);
	return rc;
}

int shell_registry_is_live_dbx(struct dbx *db, const char *id, const char *replica)
{
	return is_live(db, id, replica, true);
}

int shell_registry_is_live_pids_dbx(struct dbx *db, const char *id, const char *replica)
{
	return is_live(db, id, replica, false);
}

/* The sqlite3 * API: the same code on a borrowed handle, without a replica id. */
enum admit_result shell_registry_admit(sqlite3 *db, const struct shell_slot *slot,
				       const struct shell_caps *caps, json_t **active,
				       char *err, size_t errlen)
{
	struct dbx d;

	dbx_borrow_sqlite(&d, db);
	return shell_registry_admit_dbx(&d, slot, caps, active, err, errlen);
}

enum admit_result shell_registry_check(sqlite3 *db, const char *kind, const char *actor,
				       const char *cluster, const struct shell_caps *caps,
				       json_t **active, char *err, size_t errlen)
{
	struct dbx d;

	dbx_borrow_sqlite(&d, db);
	return shell_registry_check_dbx(&d, kind, actor, cluster, caps, NULL, active, err, errlen);
}

int shell_registry_release(sqlite3 *db, const char *id)
{
	struct dbx d;

	dbx_borrow_sqlite(&d, db);
	return shell_registry_release_dbx(&d, id);
}

int shell_registry_heartbeat(sqlite3 *db, const char *id, long long now, long long bytes_in,
			     long long bytes_out)
{
	struct dbx d;

	dbx_borrow_sqlite(&d, db);
	return shell_registry_heartbeat_dbx(&d, id, now, bytes_in, bytes_out);
}

int shell_registry_close(sqlite3 *db, const char *id, const struct audit_event *ev)
{
	struct dbx d;

	dbx_borrow_sqlite(&d, db);
	return shell_registry_close_dbx(&d, id, ev);
}

int shell_registry_set_detail(sqlite3 *db, const char *id, const char *detail_json)
{
	struct dbx d;

	dbx_borrow_sqlite(&d, db);
	return shell_registry_set_detail_dbx(&d, id, detail_json);
}

int shell_registry_reap(sqlite3 *db, json_t **reaped)
{
	struct dbx d;

	dbx_borrow_sqlite(&d, db);
	return shell_registry_reap_dbx(&d, NULL, reaped);
}

int shell_registry_is_live(sqlite3 *db, const char *id)
{
	struct dbx d;

	dbx_borrow_sqlite(&d, db);
	return shell_registry_is_live_dbx(&d, id, NULL);
}
