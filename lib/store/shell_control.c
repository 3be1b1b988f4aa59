#include "store/shell_control.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "store/dbx.h"

/* Ported onto dbx.h (docs/HACKING.md "Storage engines"): each function takes a struct dbx;
 * the sqlite3 * API wraps the same code around a borrowed handle. The bridge reads its
 * row through its own connection wherever it runs, so an end or a watch asked on any
 * replica reaches it within two polls. */

int shell_control_poll_dbx(struct dbx *db, const char *id, long long now_ms,
			   struct shell_control_state *out)
{
	static const char sql[] =
		"SELECT terminate_by_sub, terminate_by_email, (SELECT count(*) FROM shell_watchers"
		" WHERE session_id = ?1 AND last_at_ms >= ?2) FROM shell_sessions WHERE id = ?1";
	struct dbx_stmt *st = NULL;
	enum dbx_step step;
	int rc = -1;

	memset(out, 0, sizeof *out);
	/* Kept across polls: every bridge asks this every second, and compiling it was 66k of
	 * the poll's 82k instructions (bench/idle_profile.mjs). */
	if (dbx_prepare_kept(db, sql, &st) != 0)
		return -1;
	dbx_bind_text(st, 1, id);
	dbx_bind_int64(st, 2, now_ms - SHELL_WATCHER_FRESH_MS);
	step = dbx_step(st);
	if (step == DBX_ROW) {
		const char *sub = dbx_column_text(st, 0), *email = dbx_column_text(st, 1);

		out->terminate = !dbx_column_is_null(st, 0);
		snprintf(out->by_sub, sizeof out->by_sub, "%s", sub ? sub : "");
		snprintf(out->by_email, sizeof out->by_email, "%s", email ? email : "");
		out->watchers = (int)dbx_column_int64(st, 2);
		rc = 0;
	} else if (step == DBX_DONE) {
		rc = 0;
	}
	dbx_finalize(st);
	return rc;
}

int shell_control_activity_dbx(struct dbx *db, const char *id, long long last_activity_ms)
{
	struct dbx_stmt *st = NULL;
	int rc = -1;

	/* Kept: every bridge's heartbeat (store/shell_registry.h) runs it. */
	if (dbx_prepare_kept(db, "UPDATE shell_sessions SET last_activity_ms = ?2 WHERE id = ?1", &st) != 0)
		return -1;
	dbx_bind_text(st, 1, id);
	dbx_bind_int64(st, 2, last_activity_ms);
	if (dbx_step(st) == DBX_DONE)
		rc = 0;
	dbx_finalize(st);
	return rc;
}

#define LIST_COLUMNS                                                                         \
	"id, kind, cluster, target, mode, actor_sub, actor_email, tier, started_at_ms,"       \
	" coalesce(last_activity_ms, started_at_ms), bytes_in, bytes_out, terminate_by_sub,"  \
	" (SELECT count(*) FROM shell_watchers w WHERE w.session_id = shell_sessions.id"      \
	" AND w.last_at_ms >= ?3)"

static json_t *row_json(struct dbx_stmt *st, long long now_ms)
{
	char started[40];
	long long idle_ms = now_ms - dbx_column_int64(st, 9);

	format_rfc3339_ms(dbx_column_int64(st, 8), started, sizeof started);
	return json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:{s:s, s:s?}, s:s?, s:s, s:I, s:I, s:I, s:b, s:i}",
			 "id", dbx_column_text(st, 0), "kind", dbx_column_text(st, 1), "cluster",
			 dbx_column_text(st, 2), "target", dbx_column_text(st, 3), "mode",
			 dbx_column_text(st, 4), "actor", "sub", dbx_column_text(st, 5), "email",
			 dbx_column_text(st, 6), "tier", dbx_column_text(st, 7), "startedAt", started,
			 "idleSeconds", (json_int_t)(idle_ms > 0 ? idle_ms / 1000 : 0), "bytesIn",
			 (json_int_t)dbx_column_int64(st, 10), "bytesOut",
			 (json_int_t)dbx_column_int64(st, 11), "ending", !dbx_column_is_null(st, 12),
			 "watchers", (int)dbx_column_int64(st, 13));
}

/* Rows of the query (bound: ?1 id or NULL, ?2 actor or NULL, ?3 watcher freshness). A NULL
 * bound on PostgreSQL has no type: the CASTs give it one. */
static json_t *query_rows(struct dbx *db, const char *id, const char *actor, long long now_ms)
{
	static const char sql[] = "SELECT " LIST_COLUMNS " FROM shell_sessions"
				  " WHERE (CAST(?1 AS TEXT) IS NULL OR id = ?1)"
				  " AND (CAST(?2 AS TEXT) IS NULL OR actor_sub = ?2)"
				  " ORDER BY started_at_ms, id";
	struct dbx_stmt *st = NULL;
	json_t *items = json_array();
	enum dbx_step step;

	if (!items || dbx_prepare(db, sql, &st) != 0)
		goto fail;
	dbx_bind_text(st, 1, id);
	dbx_bind_text(st, 2, actor);
	dbx_bind_int64(st, 3, now_ms - SHELL_WATCHER_FRESH_MS);
	while ((step = dbx_step(st)) == DBX_ROW) {
		if (json_array_append_new(items, row_json(st, now_ms)) != 0)
			goto fail;
	}
	if (step != DBX_DONE)
		goto fail;
	dbx_finalize(st);
	return items;
fail:
	dbx_finalize(st);
	json_decref(items);
	return NULL;
}

json_t *shell_control_list_dbx(struct dbx *db, const char *actor, long long now_ms)
{
	json_t *items = query_rows(db, NULL, actor, now_ms);

	return items ? json_pack("{s:o}", "items", items) : NULL;
}

json_t *shell_control_get_dbx(struct dbx *db, const char *id, const char *actor, long long now_ms,
			      bool *err)
{
	json_t *items = query_rows(db, id, actor, now_ms), *one;

	*err = items == NULL;
	one = items ? json_incref(json_array_get(items, 0)) : NULL;
	json_decref(items);
	return one;
}

int shell_control_terminate_dbx(struct dbx *db, const char *id, const char *owner,
				const char *by_sub, const char *by_email, long long now_ms)
{
	/* The first request names who ended it; a second one changes nothing. */
	static const char sql[] =
		"UPDATE shell_sessions SET terminate_by_sub = coalesce(terminate_by_sub, ?3),"
		" terminate_by_email = CASE WHEN terminate_by_sub IS NULL THEN ?4 ELSE terminate_by_email END,"
		" terminate_at_ms = coalesce(terminate_at_ms, ?5)"
		" WHERE id = ?1 AND (CAST(?2 AS TEXT) IS NULL OR actor_sub = ?2)";
	long long changed = 0;

	if (dbx_run(db, sql, &changed, "tttti", id, owner, by_sub, by_email, now_ms) != 0)
		return -1;
	return changed > 0 ? 1 : 0;
}

/* One step of a statement with the session id as ?1 (bound here): the row's first column as
 * an integer, -1 when there is no row, -2 on error. */
static long long step_id(struct dbx_stmt *st, const char *id)
{
	long long v = -1;
	enum dbx_step step;

	dbx_bind_text(st, 1, id);
	step = dbx_step(st);
	if (step == DBX_ROW)
		v = dbx_column_int64(st, 0);
	else if (step != DBX_DONE)
		v = -2;
	return v;
}

int shell_control_watch_dbx(struct dbx *db, const char *id, const char *sub, const char *email,
			    long long now_ms, bool *joined)
{
	static const char live_sql[] = "SELECT 1 FROM shell_sessions WHERE id = ?1";
	static const char last_sql[] =
		"SELECT last_at_ms FROM shell_watchers WHERE session_id = ?1 AND watcher_sub = ?2";
	/* ?5 is 0 or 1: an integer on both engines (PostgreSQL has no integer truth). */
	static const char put_sql[] =
		"INSERT INTO shell_watchers (session_id, watcher_sub, watcher_email, first_at_ms,"
		" last_at_ms) VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT (session_id, watcher_sub) DO"
		" UPDATE SET last_at_ms = ?4, watcher_email = ?3, first_at_ms = CASE WHEN ?5 = 1"
		" THEN ?4 ELSE shell_watchers.first_at_ms END";
	struct dbx_stmt *st = NULL;
	long long v;
	int rc = -1;

	*joined = false;
	if (dbx_prepare(db, live_sql, &st) != 0)
		goto done;
	v = step_id(st, id);
	dbx_finalize(st);
	st = NULL;
	if (v == -2)
		goto done;
	if (v == -1) {
		rc = 0;
		goto done;
	}
	if (dbx_prepare(db, last_sql, &st) != 0)
		goto done;
	dbx_bind_text(st, 2, sub);
	v = step_id(st, id);
	dbx_finalize(st);
	st = NULL;
	if (v == -2)
		goto done;
	*joined = v < now_ms - SHELL_WATCHER_FRESH_MS; /* none (-1), or one that had left */
	if (dbx_prepare(db, put_sql, &st) != 0)
		goto done;
	dbx_bind_text(st, 1, id);
	dbx_bind_text(st, 2, sub);
	dbx_bind_text(st, 3, email);
	dbx_bind_int64(st, 4, now_ms);
	dbx_bind_int64(st, 5, *joined);
	if (dbx_step(st) == DBX_DONE)
		rc = 1;
done:
	dbx_finalize(st);
	return rc;
}

int shell_control_purge_watchers_dbx(struct dbx *db)
{
	struct dbx_stmt *st = NULL;
	int rc = -1;

	if (dbx_prepare(db, "DELETE FROM shell_watchers WHERE session_id NOT IN"
			" (SELECT id FROM shell_sessions)", &st) != 0)
		return -1;
	if (dbx_step(st) == DBX_DONE)
		rc = (int)dbx_changes(st);
	dbx_finalize(st);
	return rc;
}

/* The sqlite3 * API: the same code on a borrowed handle. */
int shell_control_poll(sqlite3 *db, const char *id, long long now_ms,
		       struct shell_control_state *out)
{
	struct dbx d;

	dbx_borrow_sqlite(&d, db);
	return shell_control_poll_dbx(&d, id, now_ms, out);
}

int shell_control_activity(sqlite3 *db, const char *id, long long last_activity_ms)
{
	struct dbx d;

	dbx_borrow_sqlite(&d, db);
	return shell_control_activity_dbx(&d, id, last_activity_ms);
}

json_t *shell_control_list(sqlite3 *db, const char *actor, long long now_ms)
{
	struct dbx d;

	dbx_borrow_sqlite(&d, db);
	return shell_control_list_dbx(&d, actor, now_ms);
}

json_t *shell_control_get(sqlite3 *db, const char *id, const char *actor, long long now_ms,
			  bool *err)
{
	struct dbx d;

	dbx_borrow_sqlite(&d, db);
	return shell_control_get_dbx(&d, id, actor, now_ms, err);
}

int shell_control_terminate(sqlite3 *db, const char *id, const char *owner, const char *by_sub,
			    const char *by_email, long long now_ms)
{
	struct dbx d;

	dbx_borrow_sqlite(&d, db);
	return shell_control_terminate_dbx(&d, id, owner, by_sub, by_email, now_ms);
}

int shell_control_watch(sqlite3 *db, const char *id, const char *sub, const char *email,
			long long now_ms, bool *joined)
{
	struct dbx d;

	dbx_borrow_sqlite(&d, db);
	return shell_control_watch_dbx(&d, id, sub, email, now_ms, joined);
}

int shell_control_purge_watchers(sqlite3 *db)
{
	struct dbx d;

	dbx_borrow_sqlite(&d, db);
	return shell_control_purge_watchers_dbx(&d);
}
