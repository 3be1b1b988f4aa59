/* The audit trail: every event is one row in audit_events and one JSON line in the log.
 * Verbs are lower_snake_case (login, logout, cluster_shell_open, ssm_session_close, ...);
 * outcome is success | failure | denied. Never put a secret in an event. Rows are
 * append-only: each carries the hash of the one before it (store/audit_chain.h), so an
 * UPDATE of a row breaks the chain; only retention deletes (store/audit_retention.h). */
#ifndef PERISCOPE_AUDIT_H
#define PERISCOPE_AUDIT_H

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>

struct buf;
struct dbx;
struct dbx_stmt;

struct audit_event {
	long long ts_ns;             /* 0 = now */
	const char *request_id;
	const char *route;
	const char *actor_sub;       /* NULL/"" = "anonymous" */
	const char *actor_email;
	const char *actor_groups_json;
	const char *verb;
	const char *outcome;
	const char *cluster;
	const char *res_group, *res_version, *res_type, *res_namespace, *res_name;
	const char *reason;
	json_t *extra;               /* borrowed; its "session_id" also fills the column */
	/* More members of extra, already JSON (`"key":value,...`), written after extra's own:
	 * a transcript of up to a megabyte, which jansson would escape at ~100 instructions a
	 * byte (shell/transcript.h). Terminal content only: each of extra_raw_keys
	 * (NULL-terminated) reads "(in audit row N)" on the log line. */
	const char *extra_raw;
	const char *const *extra_raw_keys;
	/* Optional: the buffer extra_raw is the contents of (extra_raw == extra_raw_buf->data).
	 * The write then builds the column's text there, around extra_raw, not in a copy of it
	 * (a node shell's close: a megabyte less at its peak); the buffer holds that text after. */
	struct buf *extra_raw_buf;
};

/* The extra column's text: extra dumped (compact), extra_raw spliced in before its closing
 * brace. Malloc'd; NULL when there is nothing to write or out of memory. */
char *audit_extra_text(const struct audit_event *ev);
/* The same text built in ev->extra_raw_buf in place (extra_raw moves up, extra's members go
 * before it): the buffer's data, or NULL (out of memory; the buffer then holds extra_raw
 * still). Only when extra_raw is the buffer's contents, which it is no longer afterwards. */
const char *audit_extra_text_in_place(const struct audit_event *ev);

/* Writes the row, chained, and the log line. The log line is written even when the row
 * cannot be (the failure is logged too). Inside the caller's write transaction when there
 * is one (a savepoint), else in its own (SQLite: BEGIN IMMEDIATE; PostgreSQL: BEGIN, the
 * chain's head row locked FOR UPDATE by the insert itself, so that writers on every replica
 * take turns). Returns 0 and the row id, or -1. */
int audit_write(sqlite3 *db, const struct audit_event *ev, long long *id_out);
/* The same on either engine (store/dbx.h); db NULL logs the row as not written. */
int audit_write_dbx(struct dbx *db, const struct audit_event *ev, long long *id_out);

/* One stored row as the API returns it, its columns AUDIT_ROW_COLUMNS. */
json_t *audit_row_json(struct dbx_stmt *st);
#define AUDIT_ROW_COLUMNS                                                                   \
	"id, ts_unix_nano, request_id, actor_sub, actor_email, actor_groups, verb, outcome,"  \
	" cluster, res_group, res_version, res_type, res_namespace, res_name, reason, extra"

/* GET /api/audit/{id}: 1 found (*row set), 0 not found (or not the caller's when
 * only_actor is given), -1 error. */
int audit_get(sqlite3 *db, long long id, const char *only_actor, json_t **row);
int audit_get_dbx(struct dbx *db, long long id, const char *only_actor, json_t **row);

#endif
