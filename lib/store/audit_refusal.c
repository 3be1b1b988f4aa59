#include "store/audit_refusal.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics_store.h"
#include "store/audit.h"
#include "store/db.h"

static long long window_of(long long now_s)
{
	return now_s - now_s % AUDIT_REFUSAL_WINDOW_S;
}

/* The summary rows of the windows that started before `before`, then the windows go. Inside
 * the caller's write transaction. */
static int flush_locked(sqlite3 *db, long long before)
{
	static const char select_sql[] =
		"SELECT actor_sub, verb, code, outcome, window_start, first_id, cluster, count"
		" FROM audit_refusal_windows WHERE window_start < ? AND count > 1";
	sqlite3_stmt *st = NULL, *del = NULL;
	int step, rc = -1;

	if (sqlite3_prepare_v2(db, select_sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, before);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		long long start = sqlite3_column_int64(st, 4);
		json_t *extra = json_pack("{s:s, s:I, s:I, s:I, s:I, s:b}", "code",
					  (const char *)sqlite3_column_text(st, 2), "count",
					  (json_int_t)sqlite3_column_int64(st, 7), "first_id",
					  (json_int_t)sqlite3_column_int64(st, 5), "window_start",
					  (json_int_t)start, "window_end",
					  (json_int_t)(start + AUDIT_REFUSAL_WINDOW_S), "aggregated", 1);
		struct audit_event ev = {
			.actor_sub = (const char *)sqlite3_column_text(st, 0),
			.verb = (const char *)sqlite3_column_text(st, 1),
			.reason = (const char *)sqlite3_column_text(st, 2),
			.outcome = (const char *)sqlite3_column_text(st, 3),
			.cluster = (const char *)sqlite3_column_text(st, 6),
			.extra = extra,
		};
		int written = extra ? audit_write(db, &ev, NULL) : -1;

		json_decref(extra);
		if (written != 0)
			goto done;
	}
	if (step != SQLITE_DONE ||
	    sqlite3_prepare_v2(db, "DELETE FROM audit_refusal_windows WHERE window_start < ?", -1,
			       &del, NULL) != SQLITE_OK)
		goto done;
	sqlite3_bind_int64(del, 1, before);
	if (sqlite3_step(del) == SQLITE_DONE)
		rc = 0;
done:
	sqlite3_finalize(del);
	sqlite3_finalize(st);
	return rc;
}

/* 1 the refusal's window existed and counts one more, 0 no window yet, -1 error. */
static int count_repeat(sqlite3 *db, const struct audit_refusal *r, const char *actor,
			long long window)
{
	static const char sql[] = "UPDATE audit_refusal_windows SET count = count + 1"
				  " WHERE actor_sub = ? AND verb = ? AND code = ? AND window_start = ?";
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->verb, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->code, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, window);
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = sqlite3_changes(db) == 1 ? 1 : 0;
	sqlite3_finalize(st);
	return rc;
}

static int open_window(sqlite3 *db, const struct audit_refusal *r, const char *actor,
		       const char *outcome, long long window, long long first_id)
{
	static const char sql[] = "INSERT INTO audit_refusal_windows (actor_sub, verb, code, outcome,"
				  " window_start, first_id, cluster, count) VALUES (?,?,?,?,?,?,?,1)";
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->verb, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->code, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, outcome, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, window);
	sqlite3_bind_int64(st, 6, first_id);
	db_bind_text_or_null(st, 7, r->cluster);
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = 0;
	sqlite3_finalize(st);
	return rc;
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

/* Each refusal once, whether it got a row or was counted in its minute's window. */
static int count_metric(sqlite3 *db, const struct audit_refusal *r, const char *outcome)
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
	rc = metrics_counter_add(db, strcmp(r->verb, "login") == 0 ? "periscope_signins_total"
								    : METRIC_SHELL_REFUSALS,
				 labels, 1);
	free(labels);
	return rc;
}

int audit_refusal_record(sqlite3 *db, const struct audit_refusal *r, long long now_s)
{
	const char *actor = r->actor_sub && *r->actor_sub ? r->actor_sub : "anonymous";
	const char *outcome = r->outcome ? r->outcome : "denied";
	long long window = window_of(now_s), id = 0;
	json_t *extra = NULL;
	int counted, rc = -1;

	if (!db || db_begin_immediate(db) != 0)
		return -1;
	if (flush_locked(db, window) != 0 || count_metric(db, r, outcome) != 0 ||
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
		if (!extra || audit_write(db, &ev, &id) != 0 ||
		    open_window(db, r, actor, outcome, window, id) != 0)
			goto done;
	}
	rc = 1;
done:
	json_decref(extra);
	if (rc < 0 || db_commit(db) != 0) {
		db_rollback(db);
		rc = -1;
	}
	return rc;
}

int audit_refusal_flush(sqlite3 *db, long long now_s)
{
	long long window = window_of(now_s);
	sqlite3_stmt *st = NULL;
	int pending = 0;

	/* Nothing to sum up is the usual case: no write lock for it. */
	if (sqlite3_prepare_v2(db, "SELECT EXISTS (SELECT 1 FROM audit_refusal_windows"
				   " WHERE window_start < ?)",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, window);
	if (sqlite3_step(st) == SQLITE_ROW)
		pending = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (!pending)
		return 0;
	if (db_begin_immediate(db) != 0)
		return -1;
	if (flush_locked(db, window) != 0 || db_commit(db) != 0) {
		db_rollback(db);
		return -1;
	}
	return 0;
}
