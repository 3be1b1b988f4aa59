#include "store/shell_control.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"

static const char *col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

int shell_control_poll(sqlite3 *db, const char *id, long long now_ms,
		       struct shell_control_state *out)
{
	static const char sql[] =
		"SELECT terminate_by_sub, terminate_by_email, (SELECT count(*) FROM shell_watchers"
		" WHERE session_id = ?1 AND last_at_ms >= ?2) FROM shell_sessions WHERE id = ?1";
	sqlite3_stmt *st = NULL;
	int rc = -1, step;

	memset(out, 0, sizeof *out);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now_ms - SHELL_WATCHER_FRESH_MS);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		out->terminate = sqlite3_column_type(st, 0) != SQLITE_NULL;
		snprintf(out->by_sub, sizeof out->by_sub, "%s", col_text(st, 0) ? col_text(st, 0) : "");
		snprintf(out->by_email, sizeof out->by_email, "%s", col_text(st, 1) ? col_text(st, 1) : "");
		out->watchers = sqlite3_column_int(st, 2);
		rc = 0;
	} else if (step == SQLITE_DONE) {
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

int shell_control_activity(sqlite3 *db, const char *id, long long last_activity_ms)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(db, "UPDATE shell_sessions SET last_activity_ms = ?2 WHERE id = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, last_activity_ms);
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = 0;
	sqlite3_finalize(st);
	return rc;
}

#define LIST_COLUMNS                                                                         \
	"id, kind, cluster, target, mode, actor_sub, actor_email, tier, started_at_ms,"       \
	" coalesce(last_activity_ms, started_at_ms), bytes_in, bytes_out, terminate_by_sub,"  \
	" (SELECT count(*) FROM shell_watchers w WHERE w.session_id = shell_sessions.id"      \
	" AND w.last_at_ms >= ?3)"

static json_t *row_json(sqlite3_stmt *st, long long now_ms)
{
	char started[40];
	long long idle_ms = now_ms - sqlite3_column_int64(st, 9);
	json_t *o;

	format_rfc3339_ms(sqlite3_column_int64(st, 8), started, sizeof started);
	o = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:{s:s, s:s?}, s:s?, s:s, s:I, s:I, s:I, s:b, s:i}",
		      "id", col_text(st, 0), "kind", col_text(st, 1), "cluster", col_text(st, 2),
		      "target", col_text(st, 3), "mode", col_text(st, 4), "actor", "sub",
		      col_text(st, 5), "email", col_text(st, 6), "tier", col_text(st, 7),
		      "startedAt", started, "idleSeconds", (json_int_t)(idle_ms > 0 ? idle_ms / 1000 : 0),
		      "bytesIn", (json_int_t)sqlite3_column_int64(st, 10), "bytesOut",
		      (json_int_t)sqlite3_column_int64(st, 11), "ending",
		      sqlite3_column_type(st, 12) != SQLITE_NULL, "watchers", sqlite3_column_int(st, 13));
	return o;
}

/* Rows of the query (bound: ?1 id or NULL, ?2 actor or NULL, ?3 watcher freshness). */
static json_t *query_rows(sqlite3 *db, const char *id, const char *actor, long long now_ms)
{
	static const char sql[] = "SELECT " LIST_COLUMNS " FROM shell_sessions"
				  " WHERE (?1 IS NULL OR id = ?1) AND (?2 IS NULL OR actor_sub = ?2)"
				  " ORDER BY started_at_ms, id";
	sqlite3_stmt *st = NULL;
	json_t *items = json_array();
	int step;

	if (!items || sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		goto fail;
	if (id)
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (actor)
		sqlite3_bind_text(st, 2, actor, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now_ms - SHELL_WATCHER_FRESH_MS);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (json_array_append_new(items, row_json(st, now_ms)) != 0)
			goto fail;
	}
	if (step != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	return items;
fail:
	sqlite3_finalize(st);
	json_decref(items);
	return NULL;
}

json_t *shell_control_list(sqlite3 *db, const char *actor, long long now_ms)
{
	json_t *items = query_rows(db, NULL, actor, now_ms);

	return items ? json_pack("{s:o}", "items", items) : NULL;
}

json_t *shell_control_get(sqlite3 *db, const char *id, const char *actor, long long now_ms,
			  bool *err)
{
	json_t *items = query_rows(db, id, actor, now_ms), *one;

	*err = items == NULL;
	one = items ? json_incref(json_array_get(items, 0)) : NULL;
	json_decref(items);
	return one;
}

int shell_control_terminate(sqlite3 *db, const char *id, const char *owner, const char *by_sub,
			    const char *by_email, long long now_ms)
{
	/* The first request names who ended it; a second one changes nothing. */
	static const char sql[] =
		"UPDATE shell_sessions SET terminate_by_sub = coalesce(terminate_by_sub, ?3),"
		" terminate_by_email = CASE WHEN terminate_by_sub IS NULL THEN ?4 ELSE terminate_by_email END,"
		" terminate_at_ms = coalesce(terminate_at_ms, ?5)"
		" WHERE id = ?1 AND (?2 IS NULL OR actor_sub = ?2)";
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (owner)
		sqlite3_bind_text(st, 2, owner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, by_sub, -1, SQLITE_STATIC);
	if (by_email)
		sqlite3_bind_text(st, 4, by_email, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now_ms);
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = sqlite3_changes(db) > 0 ? 1 : 0;
	sqlite3_finalize(st);
	return rc;
}

/* One step of a statement with the session id as ?1: the row's first column as an integer,
 * -1 when there is no row, -2 on error. */
static long long step_id(sqlite3_stmt *st, const char *id)
{
	long long v = -1;
	int step;

	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else if (step != SQLITE_DONE)
		v = -2;
	return v;
}

int shell_control_watch(sqlite3 *db, const char *id, const char *sub, const char *email,
			long long now_ms, bool *joined)
{
	static const char live_sql[] = "SELECT 1 FROM shell_sessions WHERE id = ?1";
	static const char last_sql[] =
		"SELECT last_at_ms FROM shell_watchers WHERE session_id = ?1 AND watcher_sub = ?2";
	static const char put_sql[] =
		"INSERT INTO shell_watchers (session_id, watcher_sub, watcher_email, first_at_ms,"
		" last_at_ms) VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT (session_id, watcher_sub) DO"
		" UPDATE SET last_at_ms = ?4, watcher_email = ?3, first_at_ms = CASE WHEN ?5 THEN ?4"
		" ELSE first_at_ms END";
	sqlite3_stmt *st = NULL;
	long long v;
	int rc = -1;

	*joined = false;
	if (sqlite3_prepare_v2(db, live_sql, -1, &st, NULL) != SQLITE_OK)
		goto done;
	v = step_id(st, id);
	sqlite3_finalize(st);
	st = NULL;
	if (v == -2)
		goto done;
	if (v == -1) {
		rc = 0;
		goto done;
	}
	if (sqlite3_prepare_v2(db, last_sql, -1, &st, NULL) != SQLITE_OK)
		goto done;
	sqlite3_bind_text(st, 2, sub, -1, SQLITE_STATIC);
	v = step_id(st, id);
	sqlite3_finalize(st);
	st = NULL;
	if (v == -2)
		goto done;
	*joined = v < now_ms - SHELL_WATCHER_FRESH_MS; /* none (-1), or one that had left */
	if (sqlite3_prepare_v2(db, put_sql, -1, &st, NULL) != SQLITE_OK)
		goto done;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, sub, -1, SQLITE_STATIC);
	if (email)
		sqlite3_bind_text(st, 3, email, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now_ms);
	sqlite3_bind_int(st, 5, *joined);
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = 1;
done:
	sqlite3_finalize(st);
	return rc;
}

int shell_control_purge_watchers(sqlite3 *db)
{
	if (sqlite3_exec(db, "DELETE FROM shell_watchers WHERE session_id NOT IN"
			 " (SELECT id FROM shell_sessions)", NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	return sqlite3_changes(db);
}
