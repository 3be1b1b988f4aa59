#include "store/shell_registry.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/audit.h"
#include "store/db.h"
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

/* A row is live when its process is: same boot, same pid, same start time. A row from
 * another boot (the host rebooted) cannot be checked by pid: it stays live only while its
 * heartbeat is fresh. A row without a boot id predates the column: checked by pid. */
static int row_is_live(sqlite3_stmt *st, int pid_col, int ticks_col, int boot_col, int beat_col,
		       const char *boot_id, long long now)
{
	unsigned long long now_ticks;
	pid_t pid = (pid_t)sqlite3_column_int64(st, pid_col);
	const char *row_boot = (const char *)sqlite3_column_text(st, boot_col);

	if (row_boot && boot_id && strcmp(row_boot, boot_id) != 0)
		return now - sqlite3_column_int64(st, beat_col) < SHELL_HEARTBEAT_STALE_MS;
	return process_start_ticks(pid, &now_ticks) == 0 &&
	       now_ticks == (unsigned long long)sqlite3_column_int64(st, ticks_col);
}

#define REGISTRY_ROW_COLUMNS                                                                  \
	"id, kind, cluster, detail, pid, pid_start_ticks, boot_id, heartbeat_at_ms, actor_sub,"  \
	" actor_email, actor_groups, target, tier, mode, started_at_ms, bytes_in, bytes_out"

/* The dead rows, as JSON objects, collected before any is claimed (no write while the
 * list is read). */
static json_t *dead_rows(sqlite3 *db)
{
	static const char sql[] = "SELECT " REGISTRY_ROW_COLUMNS " FROM shell_sessions";
	char boot[64];
	const char *boot_id = host_boot_id(boot, sizeof boot) == 0 ? boot : NULL;
	long long now = now_ms();
	sqlite3_stmt *st = NULL;
	json_t *rows = json_array();
	int step;

	if (!rows || sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		goto fail;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *detail = (const char *)sqlite3_column_text(st, 3);
		const char *groups = (const char *)sqlite3_column_text(st, 10);
		json_t *d, *g, *row;

		if (row_is_live(st, 4, 5, 6, 7, boot_id, now))
			continue;
		d = detail ? json_loads(detail, 0, NULL) : NULL;
		g = groups ? json_loads(groups, 0, NULL) : NULL;
		row = json_pack("{s:s, s:s, s:s, s:o, s:s, s:s?, s:o, s:s?, s:s?, s:s?, s:I, s:I, s:I, s:I}",
				"id", sqlite3_column_text(st, 0), "kind", sqlite3_column_text(st, 1),
				"cluster", sqlite3_column_text(st, 2), "detail", d ? d : json_object(),
				"actor_sub", sqlite3_column_text(st, 8), "actor_email",
				sqlite3_column_text(st, 9), "actor_groups", g ? g : json_array(),
				"target", sqlite3_column_text(st, 11), "tier", sqlite3_column_text(st, 12),
				"mode", sqlite3_column_text(st, 13), "started_at_ms",
				(json_int_t)sqlite3_column_int64(st, 14), "heartbeat_at_ms",
				(json_int_t)sqlite3_column_int64(st, 7), "bytes_in",
				(json_int_t)sqlite3_column_int64(st, 15), "bytes_out",
				(json_int_t)sqlite3_column_int64(st, 16));
		if (!row || json_array_append_new(rows, row) != 0)
			goto fail;
	}
	if (step != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	return rows;
fail:
	sqlite3_finalize(st);
	json_decref(rows);
	return NULL;
}

/* Deletes the row of session id; 1 when this call did (the claim on its close row), 0 when
 * it was gone already, -1 on error. */
static int claim_row(sqlite3 *db, const char *id)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(db, "DELETE FROM shell_sessions WHERE id = ?1", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = sqlite3_changes(db) == 1 ? 1 : 0;
	sqlite3_finalize(st);
	return rc;
}

/* Inside the admission's transaction: a savepoint. Elsewhere: BEGIN IMMEDIATE, which waits
 * for the write lock up front (a deferred transaction that reads first may fail to upgrade
 * under a concurrent writer, and a bridge's close row must not be lost to that). */
struct claim_txn {
	bool own;
};

static int txn_begin(sqlite3 *db, struct claim_txn *t)
{
	t->own = sqlite3_get_autocommit(db) != 0;
	if (t->own)
		return db_begin_immediate(db);
	return sqlite3_exec(db, "SAVEPOINT shell_close", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static int txn_commit(sqlite3 *db, const struct claim_txn *t)
{
	if (t->own)
		return db_commit(db);
	return sqlite3_exec(db, "RELEASE shell_close", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static void txn_abort(sqlite3 *db, const struct claim_txn *t)
{
	if (t->own) {
		db_rollback(db);
		return;
	}
	sqlite3_exec(db, "ROLLBACK TO shell_close", NULL, NULL, NULL);
	sqlite3_exec(db, "RELEASE shell_close", NULL, NULL, NULL);
}

/* Claims the row and writes its close row, all or nothing. 1, 0 (claimed by another), -1. */
static int claim_and_write(sqlite3 *db, const char *id, const struct audit_event *ev,
			   const json_t *lost_row)
{
	struct claim_txn t;
	int claimed;

	if (txn_begin(db, &t) != 0)
		return -1;
	claimed = claim_row(db, id);
	if (claimed < 0)
		goto fail;
	if (claimed == 1 && (ev ? audit_write(db, ev, NULL) : shell_lost_write(db, lost_row)) != 0)
		goto fail;
	if (txn_commit(db, &t) != 0)
		goto fail;
	return claimed;
fail:
	txn_abort(db, &t);
	return -1;
}

int shell_registry_close(sqlite3 *db, const char *id, const struct audit_event *ev)
{
	return claim_and_write(db, id, ev, NULL);
}

int shell_registry_reap(sqlite3 *db, json_t **reaped)
{
	json_t *rows = dead_rows(db), *row, *out = reaped ? json_array() : NULL;
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
			continue; /* another process claimed it meanwhile */
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

static int count_rows(sqlite3 *db, const char *sql, const char *kind, const char *value, int *n)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*n = sqlite3_column_int(st, 0);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

/* The caller's own sessions of this kind (on one cluster when cluster is not NULL): what a
 * 429 answer may show without revealing anyone else's sessions. */
static json_t *list_active(sqlite3 *db, const char *kind, const char *actor, const char *cluster)
{
	static const char sql[] =
		"SELECT id, cluster, target, tier, mode, started_at_ms FROM shell_sessions"
		" WHERE kind = ?1 AND actor_sub = ?2 AND (?3 IS NULL OR cluster = ?3)"
		" ORDER BY started_at_ms";
	sqlite3_stmt *st = NULL;
	json_t *list = json_array();

	if (!list || sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		goto done;
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, actor, -1, SQLITE_STATIC);
	db_bind_text_or_null(st, 3, cluster);
	while (sqlite3_step(st) == SQLITE_ROW) {
		char started[40];
		json_t *item;

		format_rfc3339_ms(sqlite3_column_int64(st, 5), started, sizeof started);
		item = json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:s}", "id", sqlite3_column_text(st, 0),
				 "cluster", sqlite3_column_text(st, 1), "target",
				 sqlite3_column_text(st, 2), "tier", sqlite3_column_text(st, 3), "mode",
				 sqlite3_column_text(st, 4), "startedAt", started);
		if (item)
			json_array_append_new(list, item);
	}
done:
	sqlite3_finalize(st);
	return list;
}

/* Counts against the caps; the caller holds the write transaction when admitting. */
static enum admit_result check_caps(sqlite3 *db, const char *kind, const char *actor,
				    const char *cluster, const struct shell_caps *caps,
				    json_t **active, char *err, size_t errlen)
{
	int per_user = 0, per_cluster = 0;

	if (count_rows(db, "SELECT COUNT(*) FROM shell_sessions WHERE kind = ? AND actor_sub = ?",
		       kind, actor, &per_user) != 0 ||
	    count_rows(db, "SELECT COUNT(*) FROM shell_sessions WHERE kind = ? AND cluster = ?",
		       kind, cluster, &per_cluster) != 0) {
		snprintf(err, errlen, "cannot count sessions: %s", sqlite3_errmsg(db));
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
static enum admit_result check_caps_reaping(sqlite3 *db, const char *kind, const char *actor,
					    const char *cluster, const struct shell_caps *caps,
					    json_t **active, char *err, size_t errlen)
{
	enum admit_result r = check_caps(db, kind, actor, cluster, caps, NULL, err, errlen);

	if (r != ADMIT_CAP_USER && r != ADMIT_CAP_CLUSTER)
		return r;
	if (shell_registry_reap(db, NULL) < 0) {
		snprintf(err, errlen, "cannot reap sessions: %s", sqlite3_errmsg(db));
		return ADMIT_ERROR;
	}
	return check_caps(db, kind, actor, cluster, caps, active, err, errlen);
}

enum admit_result shell_registry_check(sqlite3 *db, const char *kind, const char *actor,
				       const char *cluster, const struct shell_caps *caps,
				       json_t **active, char *err, size_t errlen)
{
	return check_caps_reaping(db, kind, actor, cluster, caps, active, err, errlen);
}

enum admit_result shell_registry_admit(sqlite3 *db, const struct shell_slot *slot,
				       const struct shell_caps *caps, json_t **active,
				       char *err, size_t errlen)
{
	static const char sql[] =
		"INSERT INTO shell_sessions (id, kind, actor_sub, cluster, target, tier, mode, pid,"
		" pid_start_ticks, started_at_ms, detail, actor_email, actor_groups, boot_id,"
		" heartbeat_at_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?10)";
	unsigned long long ticks;
	char boot[64];
	sqlite3_stmt *st = NULL;
	enum admit_result result = ADMIT_ERROR;

	if (active)
		*active = NULL;
	if (host_boot_id(boot, sizeof boot) != 0)
		boot[0] = '\0';
	if (process_start_ticks(slot->pid, &ticks) != 0) {
		snprintf(err, errlen, "cannot read the start time of process %d", (int)slot->pid);
		return ADMIT_ERROR;
	}
	if (db_begin_immediate(db) != 0) {
		snprintf(err, errlen, "cannot lock the session registry: %s", sqlite3_errmsg(db));
		return ADMIT_ERROR;
	}
	result = check_caps_reaping(db, slot->kind, slot->actor, slot->cluster, caps, active, err, errlen);
	if (result != ADMIT_OK)
		goto done;
	result = ADMIT_ERROR;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		goto db_error;
	sqlite3_bind_text(st, 1, slot->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, slot->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, slot->actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, slot->cluster, -1, SQLITE_STATIC);
	db_bind_text_or_null(st, 5, slot->target);
	db_bind_text_or_null(st, 6, slot->tier);
	db_bind_text_or_null(st, 7, slot->mode);
	sqlite3_bind_int64(st, 8, slot->pid);
	sqlite3_bind_int64(st, 9, (sqlite3_int64)ticks);
	sqlite3_bind_int64(st, 10, now_ms());
	db_bind_text_or_null(st, 11, slot->detail_json);
	db_bind_text_or_null(st, 12, slot->actor_email);
	db_bind_text_or_null(st, 13, slot->actor_groups_json);
	db_bind_text_or_null(st, 14, boot);
	if (sqlite3_step(st) != SQLITE_DONE || db_commit(db) != 0)
		goto db_error;
	sqlite3_finalize(st);
	return ADMIT_OK;
db_error:
	snprintf(err, errlen, "cannot register the session: %s", sqlite3_errmsg(db));
done:
	sqlite3_finalize(st);
	db_rollback(db);
	return result;
}

static int exec_id(sqlite3 *db, const char *sql, const char *id, const char *text)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_bind_parameter_count(st) >= 2)
		db_bind_text_or_null(st, 2, text);
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = 0;
	sqlite3_finalize(st);
	return rc;
}

int shell_registry_release(sqlite3 *db, const char *id)
{
	return exec_id(db, "DELETE FROM shell_sessions WHERE id = ?1", id, NULL);
}

int shell_registry_heartbeat(sqlite3 *db, const char *id, long long now, long long bytes_in,
			     long long bytes_out)
{
	static const char sql[] = "UPDATE shell_sessions SET heartbeat_at_ms = ?2, bytes_in = ?3,"
				  " bytes_out = ?4 WHERE id = ?1";
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, bytes_in);
	sqlite3_bind_int64(st, 4, bytes_out);
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = 0;
	sqlite3_finalize(st);
	return rc;
}

int shell_registry_set_detail(sqlite3 *db, const char *id, const char *detail_json)
{
	return exec_id(db, "UPDATE shell_sessions SET detail = ?2 WHERE id = ?1", id, detail_json);
}

int shell_registry_is_live(sqlite3 *db, const char *id)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, step;

	char boot[64];
	const char *boot_id = host_boot_id(boot, sizeof boot) == 0 ? boot : NULL;

	if (sqlite3_prepare_v2(db, "SELECT pid, pid_start_ticks, boot_id, heartbeat_at_ms"
			       " FROM shell_sessions WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_DONE)
		rc = 0;
	else if (step == SQLITE_ROW)
		rc = row_is_live(st, 0, 1, 2, 3, boot_id, now_ms()) ? 1 : 0;
	sqlite3_finalize(st);
	return rc;
}
