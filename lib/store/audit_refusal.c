#include "store/audit_refusal.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics_store.h"
#include "store/audit.h"
#include "store/db.h"
#include "store/dbx.h"

static int window_length(int window_s)
{
	return window_s > 0 ? window_s : AUDIT_REFUSAL_WINDOW_S;
}

static long long window_of(long long now_s, int window_s)
{
	return now_s - now_s % window_length(window_s);
}

/* On PostgreSQL, refusals on every replica take turns: each reads a window, then counts in
 * it or opens it, and the minute's summary must be written once. SQLite's BEGIN IMMEDIATE
 * already does this for the processes of one machine. */
#define PG_REFUSAL_LOCK "SELECT pg_advisory_xact_lock(hashtext('periscope.audit_refusal'))"

static int begin_locked(struct dbx *db)
{
	if (dbx_begin_write(db) != 0)
		return -1;
	if (db->engine == DBX_POSTGRES && dbx_exec(db, PG_REFUSAL_LOCK) != 0) {
		dbx_rollback(db);
		return -1;
	}
	return 0;
}

/* A refusal reads the clock before it waits for the write lock, and may get it only after a
 * refusal of a later window (or the sweep) has summed its window up and deleted it: counted
 * in that window again it would open it a second time, with a second first row and a second
 * summary. So every flush leaves a mark, a row of no actor, verb or code and count 0 whose
 * window_start is where it flushed up to (never summed up: only count > 1 is), and a refusal
 * counts in the newest window the table knows if that is later than its own. */
#define FLUSHED_MARK_SQL                                                                   \
	"INSERT INTO audit_refusal_windows (actor_sub, verb, code, outcome, window_start,"  \
	" first_id, cluster, count) VALUES ('', '', '', '', ?, 0, NULL, 0)"               \
	" ON CONFLICT DO NOTHING"

/* The refusal's window: its own, or the newest one flushed up to or opened, if later. */
static int current_window(struct dbx *db, long long own, long long *window)
{
	struct dbx_stmt *st = NULL;
	int rc = -1;

	if (dbx_prepare(db, "SELECT MAX(window_start) FROM audit_refusal_windows", &st) != 0)
		return -1;
	if (dbx_step(st) == DBX_ROW) {
		long long newest = dbx_column_is_null(st, 0) ? own : dbx_column_int64(st, 0);

		*window = newest > own ? newest : own;
		rc = 0;
	}
	dbx_finalize(st);
	return rc;
}

/* The summary rows of the windows that started before `before`, then the windows go and the
 * mark says so. Inside the caller's write transaction. */
static int flush_locked(struct dbx *db, long long before, int window_s)
{
	static const char select_sql[] =
		"SELECT actor_sub, verb, code, outcome, window_start, first_id, cluster, count"
		" FROM audit_refusal_windows WHERE window_start < ? AND count > 1";
	struct dbx_stmt *st = NULL, *del = NULL;
	enum dbx_step step;
	int rc = -1;

	if (dbx_prepare(db, select_sql, &st) != 0)
		return -1;
	dbx_bind_int64(st, 1, before);
	while ((step = dbx_step(st)) == DBX_ROW) {
		long long start = dbx_column_int64(st, 4);
		json_t *extra = json_pack("{s:s, s:I, s:I, s:I, s:I, s:b}", "code",
					  dbx_column_text(st, 2), "count",
					  (json_int_t)dbx_column_int64(st, 7), "first_id",
					  (json_int_t)dbx_column_int64(st, 5), "window_start",
					  (json_int_t)start, "window_end",
					  (json_int_t)(start + window_length(window_s)), "aggregated", 1);
		struct audit_event ev = {
			.actor_sub = dbx_column_text(st, 0),
			.verb = dbx_column_text(st, 1),
			.reason = dbx_column_text(st, 2),
			.outcome = dbx_column_text(st, 3),
			.cluster = dbx_column_text(st, 6),
			.extra = extra,
		};
		int written = extra ? audit_write_dbx(db, &ev, NULL) : -1;

		json_decref(extra);
		if (written != 0)
			goto done;
	}
	if (step != DBX_DONE ||
	    dbx_prepare(db, "DELETE FROM audit_refusal_windows WHERE window_start < ?", &del) != 0)
		goto done;
	dbx_bind_int64(del, 1, before);
	if (dbx_step(del) != DBX_DONE ||
	    dbx_run(db, FLUSHED_MARK_SQL, NULL, "i", before) != 0)
		goto done;
	rc = 0;
done:
	dbx_finalize(del);
	dbx_finalize(st);
	return rc;
}

/* 1 the refusal's window existed and counts one more, 0 no window yet, -1 error. */
static int count_repeat(struct dbx *db, const struct audit_refusal *r, const char *actor,
			long long window)
{
	static const char sql[] = "UPDATE audit_refusal_windows SET count = count + 1"
				  " WHERE actor_sub = ? AND verb = ? AND code = ? AND window_start = ?";
	long long changed = 0;

	if (dbx_run(db, sql, &changed, "ttti", actor, r->verb, r->code, window) != 0)
		return -1;
	return changed == 1 ? 1 : 0;
}

static int open_window(struct dbx *db, const struct audit_refusal *r, const char *actor,
		       const char *outcome, long long window, long long first_id)
{
	static const char sql[] = "INSERT INTO audit_refusal_windows (actor_sub, verb, code, outcome,"
				  " window_start, first_id, cluster, count) VALUES (?,?,?,?,?,?,?,1)";

	return dbx_run(db, sql, NULL, "ttttiin", actor, r->verb, r->code, outcome, window, first_id,
		       r->cluster);
}

static json_t *first_extra(const struct audit_refusal *r)
{
	json_t *extra = json_pack("{s:s, s:i}", "code", r->code, "count", 1);

	if (!extra)
		return NULL;
	if (r->status)
		json_object_set_new(extra, "status", json_integer(r->status));
#define OPTIONAL(key, value)                                           \
	if ((value) && *(value))                                       \
		json_object_set_new(extra, key, json_string(value));
	OPTIONAL("message", r->message)
	OPTIONAL("client", r->client)
	OPTIONAL("via", r->via)
	OPTIONAL("target", r->target)
#undef OPTIONAL
	return extra;
}

/* Each refusal once, whether it got a row or was counted in its window. */
static int count_metric(struct dbx *db, const struct audit_refusal *r, const char *outcome)
{
	char *labels = NULL;
	int rc;

	if (strcmp(r->verb, "login") == 0)
		labels = metrics_labels("outcome", outcome, NULL);
	else
		labels = metrics_labels("kind", strcmp(r->verb, "cluster_shell_open") == 0
							 ? "cluster_shell" : "node_shell",
					"cluster", r->cluster_label ? r->cluster_label : "", "code",
					r->code, NULL);
	if (!labels)
		return -1;
	rc = metrics_counter_add_dbx(db, strcmp(r->verb, "login") == 0 ? "periscope_signins_total"
									: METRIC_SHELL_REFUSALS,
				     labels, 1);
	free(labels);
	return rc;
}

int audit_refusal_record_dbx(struct dbx *db, const struct audit_refusal *r, long long now_s)
{
	const char *actor = r->actor_sub && *r->actor_sub ? r->actor_sub : "anonymous";
	const char *outcome = r->outcome ? r->outcome : "denied";
	long long window = window_of(now_s, r->window_s), id = 0;
	json_t *extra = NULL;
	int counted, rc = -1;

	if (!db || begin_locked(db) != 0)
		return -1;
	if (current_window(db, window, &window) != 0 ||
	    flush_locked(db, window, r->window_s) != 0 || count_metric(db, r, outcome) != 0 ||
	    (counted = count_repeat(db, r, actor, window)) < 0)
		goto done;
	if (counted == 1) {
		rc = 0;
		goto done;
	}
	extra = first_extra(r);
	{
		struct audit_event ev = {
			.request_id = r->request_id, .route = r->route, .actor_sub = actor,
			.actor_email = r->actor_email, .actor_groups_json = r->actor_groups_json,
			.verb = r->verb, .outcome = outcome, .cluster = r->cluster,
			.reason = r->reason ? r->reason : r->code, .extra = extra,
		};
		if (!extra || audit_write_dbx(db, &ev, &id) != 0 ||
		    open_window(db, r, actor, outcome, window, id) != 0)
			goto done;
	}
	rc = 1;
done:
	json_decref(extra);
	if (rc < 0 || dbx_commit(db) != 0) {
		dbx_rollback(db);
		rc = -1;
	}
	return rc;
}

int audit_refusal_record(sqlite3 *db, const struct audit_refusal *r, long long now_s)
{
	struct dbx x;

	if (!db)
		return -1;
	dbx_borrow_sqlite(&x, db);
	return audit_refusal_record_dbx(&x, r, now_s);
}

int audit_refusal_flush_dbx(struct dbx *db, long long now_s, int window_s)
{
	long long window = window_of(now_s, window_s);
	struct dbx_stmt *st = NULL;
	long long pending = 0;

	/* Nothing to sum up is the usual case: no write lock for it. */
	/* The mark (count 0) alone is nothing to sum up. */
	if (dbx_prepare(db, "SELECT EXISTS (SELECT 1 FROM audit_refusal_windows"
			    " WHERE window_start < ? AND count > 0)", &st) != 0)
		return -1;
	dbx_bind_int64(st, 1, window);
	if (dbx_step(st) == DBX_ROW)
		/* SQLite answers 0 or 1, PostgreSQL a boolean ("t" or "f"). */
		pending = db->engine == DBX_SQLITE ? dbx_column_int64(st, 0)
						   : strcmp(dbx_column_text(st, 0), "t") == 0;
	dbx_finalize(st);
	if (!pending)
		return 0;
	if (begin_locked(db) != 0)
		return -1;
	if (flush_locked(db, window, window_s) != 0 || dbx_commit(db) != 0) {
		dbx_rollback(db);
		return -1;
	}
	return 0;
}

int audit_refusal_flush(sqlite3 *db, long long now_s, int window_s)
{
	struct dbx x;

	dbx_borrow_sqlite(&x, db);
	return audit_refusal_flush_dbx(&x, now_s, window_s);
}
