#include "store/shell_registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
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

static int row_is_live(sqlite3_stmt *st, int pid_col, int ticks_col)
{
	unsigned long long now_ticks;
	pid_t pid = (pid_t)sqlite3_column_int64(st, pid_col);

	return process_start_ticks(pid, &now_ticks) == 0 &&
	       now_ticks == (unsigned long long)sqlite3_column_int64(st, ticks_col);
}

int shell_registry_reap(sqlite3 *db, json_t **reaped)
{
	static const char list_sql[] = "SELECT id, kind, cluster, detail, pid, pid_start_ticks"
				       " FROM shell_sessions";
	sqlite3_stmt *st = NULL, *del = NULL;
	json_t *rows = reaped ? json_array() : NULL;
	int count = 0, step;

	if (sqlite3_prepare_v2(db, list_sql, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "DELETE FROM shell_sessions WHERE id = ?", -1, &del, NULL) !=
		    SQLITE_OK)
		goto fail;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (row_is_live(st, 4, 5))
			continue;
		sqlite3_reset(del);
		sqlite3_bind_text(del, 1, (const char *)sqlite3_column_text(st, 0), -1, SQLITE_TRANSIENT);
		if (sqlite3_step(del) != SQLITE_DONE)
			goto fail;
		if (rows) {
			const char *detail = (const char *)sqlite3_column_text(st, 3);
			json_t *d = detail ? json_loads(detail, 0, NULL) : NULL;
			json_array_append_new(rows, json_pack("{s:s, s:s, s:s, s:o}", "id",
							      sqlite3_column_text(st, 0), "kind",
							      sqlite3_column_text(st, 1), "cluster",
							      sqlite3_column_text(st, 2), "detail",
							      d ? d : json_object()));
		}
		count++;
	}
	if (step != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	sqlite3_finalize(del);
	if (reaped)
		*reaped = rows;
	return count;
fail:
	sqlite3_finalize(st);
	sqlite3_finalize(del);
	json_decref(rows);
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

enum admit_result shell_registry_check(sqlite3 *db, const char *kind, const char *actor,
				       const char *cluster, const struct shell_caps *caps,
				       json_t **active, char *err, size_t errlen)
{
	if (shell_registry_reap(db, NULL) < 0) {
		snprintf(err, errlen, "cannot reap sessions: %s", sqlite3_errmsg(db));
		return ADMIT_ERROR;
	}
	return check_caps(db, kind, actor, cluster, caps, active, err, errlen);
}

enum admit_result shell_registry_admit(sqlite3 *db, const struct shell_slot *slot,
				       const struct shell_caps *caps, json_t **active,
				       char *err, size_t errlen)
{
	static const char sql[] =
		"INSERT INTO shell_sessions (id, kind, actor_sub, cluster, target, tier, mode, pid,"
		" pid_start_ticks, started_at_ms, detail) VALUES (?,?,?,?,?,?,?,?,?,?,?)";
	unsigned long long ticks;
	sqlite3_stmt *st = NULL;
	enum admit_result result = ADMIT_ERROR;

	if (active)
		*active = NULL;
	if (process_start_ticks(slot->pid, &ticks) != 0) {
		snprintf(err, errlen, "cannot read the start time of process %d", (int)slot->pid);
		return ADMIT_ERROR;
	}
	if (db_begin_immediate(db) != 0) {
		snprintf(err, errlen, "cannot lock the session registry: %s", sqlite3_errmsg(db));
		return ADMIT_ERROR;
	}
	if (shell_registry_reap(db, NULL) < 0) {
		snprintf(err, errlen, "cannot reap sessions: %s", sqlite3_errmsg(db));
		goto done;
	}
	result = check_caps(db, slot->kind, slot->actor, slot->cluster, caps, active, err, errlen);
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

int shell_registry_set_detail(sqlite3 *db, const char *id, const char *detail_json)
{
	return exec_id(db, "UPDATE shell_sessions SET detail = ?2 WHERE id = ?1", id, detail_json);
}

int shell_registry_is_live(sqlite3 *db, const char *id)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, step;

	if (sqlite3_prepare_v2(db, "SELECT pid, pid_start_ticks FROM shell_sessions WHERE id = ?", -1,
			       &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_DONE)
		rc = 0;
	else if (step == SQLITE_ROW)
		rc = row_is_live(st, 0, 1) ? 1 : 0;
	sqlite3_finalize(st);
	return rc;
}
