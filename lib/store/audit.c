#include "store/audit.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "store/audit_chain.h"
#include "store/db.h"
#include "store/dbx.h"
#include "core/log.h"
#include "core/timeutil.h"

#define AUDIT_LOG_VALUE_MAX 1024

/* What a terminal showed or ran: in the row only, never on a log line, whatever its size
 * (an `export TOKEN=...` is short). */
static bool is_terminal_content(const char *key)
{
	static const char *const keys[] = { "transcript", "transcript_tail", "commands" };

	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strcmp(key, keys[i]) == 0)
			return true;
	return false;
}

static const char *or_anonymous(const char *sub)
{
	return sub && *sub ? sub : "anonymous";
}

static void audit_log_line(const struct audit_event *ev, long long ts_ns, long long id)
{
	json_t *f = json_object();
	const char *key;
	json_t *value;

	if (!f)
		return;
	json_object_set_new(f, "category", json_string("audit"));
	json_object_set_new(f, "event", json_string(ev->verb));
	json_object_set_new(f, "outcome", json_string(ev->outcome));
	json_object_set_new(f, "actor.sub", json_string(or_anonymous(ev->actor_sub)));
	json_object_set_new(f, "audit_id", json_integer(id));
	json_object_set_new(f, "ts_unix_nano", json_integer(ts_ns));
#define OPTIONAL(name, field)                                       \
	if (ev->field && *ev->field)                                \
		json_object_set_new(f, name, json_string(ev->field));
	OPTIONAL("actor.email", actor_email)
	OPTIONAL("request_id", request_id)
	OPTIONAL("route", route)
	OPTIONAL("cluster", cluster)
	OPTIONAL("group", res_group)
	OPTIONAL("version", res_version)
	OPTIONAL("resource", res_type)
	OPTIONAL("namespace", res_namespace)
	OPTIONAL("name", res_name)
	OPTIONAL("reason", reason)
#undef OPTIONAL
	if (ev->actor_groups_json && *ev->actor_groups_json) {
		json_t *groups = json_loads(ev->actor_groups_json, 0, NULL);
		if (groups)
			json_object_set_new(f, "actor.groups", groups);
	}
	/* The extra keys flatten onto the line, without overriding the envelope. Terminal
	 * content (a transcript, a command list) stays in the row only: it may hold secrets.
	 * Other bulky values too: log lines must stay short. */
	if (ev->extra) {
		json_object_foreach(ev->extra, key, value) {
			if (json_object_get(f, key))
				continue;
			if (is_terminal_content(key))
				json_object_set_new(f, key, json_sprintf("(in audit row %lld)", id));
			else if (json_is_string(value) && json_string_length(value) > AUDIT_LOG_VALUE_MAX)
				json_object_set_new(f, key, json_sprintf("(%zu bytes, in audit row %lld)",
									 json_string_length(value), id));
			else if (json_is_array(value) && json_array_size(value) > 16)
				json_object_set_new(f, key, json_sprintf("(%zu items, in audit row %lld)",
									 json_array_size(value), id));
			else
				json_object_set(f, key, value);
		}
	}
	for (const char *const *k = ev->extra_raw_keys; ev->extra_raw && k && *k; k++)
		if (!json_object_get(f, *k))
			json_object_set_new(f, *k, json_sprintf("(in audit row %lld)", id));
	log_json(LOG_INFO, "audit", "audit", f);
}

/* The row and the chain's new head, in one write transaction: the caller's when it is in
 * one (a savepoint inside it), else its own, so that two writers never read the same head
 * (store/audit_chain.h).
 *
 * SQLite: BEGIN IMMEDIATE locks the whole database up front; the head is read, bound as
 * prev_hash (?18), the row inserted and hashed as stored.
 * PostgreSQL: one statement (PG_AUDIT_INSERT) reads the head FOR UPDATE, which holds every
 * other replica's writer until this transaction ends (the identity then gives ids in that
 * order), inserts the row with it and returns the row as stored, which is hashed without
 * reading it again: three round trips hold the lock (the insert, the head's update, the
 * commit) instead of five. */
static int insert_chained(struct dbx *db, struct dbx_stmt *st, long long *id, char *why,
			  size_t whylen)
{
	bool own = !dbx_in_transaction(db);
	char prev[AUDIT_HASH_HEX];

	if ((own ? dbx_begin_write(db) : dbx_exec(db, "SAVEPOINT audit_append")) != 0) {
		snprintf(why, whylen, "%s", dbx_errmsg(db));
		return -1;
	}
	if (db->engine == DBX_SQLITE) {
		if (audit_chain_head_dbx(db, prev) != 0 || dbx_bind_text(st, 18, prev) != 0 ||
		    dbx_step(st) != DBX_DONE)
			goto fail;
		*id = sqlite3_last_insert_rowid(db->lite);
		if (audit_chain_append_dbx(db, *id) != 0)
			goto fail;
	} else {
		if (dbx_step(st) != DBX_ROW)
			goto fail;
		*id = dbx_column_int64(st, 0);
		if (audit_chain_append_row_dbx(db, st) != 0 || dbx_step(st) != DBX_DONE)
			goto fail;
	}
	if ((own ? dbx_commit(db) : dbx_exec(db, "RELEASE audit_append")) != 0)
		goto fail;
	return 0;
fail:
	*id = 0;
	/* Said before the rollback, which would reset it. */
	snprintf(why, whylen, "%s", dbx_errmsg(db));
	if (own) {
		dbx_rollback(db);
	} else {
		dbx_exec(db, "ROLLBACK TO audit_append");
		dbx_exec(db, "RELEASE audit_append");
	}
	return -1;
}

int audit_write_dbx(struct dbx *db, const struct audit_event *ev, long long *id_out)
{
#define AUDIT_INSERT_COLUMNS                                                                \
	"INSERT INTO audit_events (ts_unix_nano, request_id, route, actor_sub, actor_email,"  \
	" actor_groups, verb, outcome, cluster, res_group, res_version, res_type,"            \
	" res_namespace, res_name, reason, session_id, extra, prev_hash)"
	static const char sql[] = AUDIT_INSERT_COLUMNS " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
	/* The head, locked, is the 18th value; the row comes back as the chain hashes it. */
	static const char pg_sql[] =
		"WITH head AS (SELECT head_hash FROM audit_chain WHERE id = 1 FOR UPDATE) "
		AUDIT_INSERT_COLUMNS " SELECT ?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?, head.head_hash FROM head"
		" RETURNING " AUDIT_CHAIN_COLUMNS;
#undef AUDIT_INSERT_COLUMNS
	long long ts = ev->ts_ns ? ev->ts_ns : now_ns(), id = 0;
	const char *session_id = NULL, *extra_text;
	char *extra_copy = NULL, why[256] = "no database";
	struct dbx_stmt *st = NULL;
	int rc = -1;

	/* A transcript's megabyte is not copied when its buffer can take the rest around it. */
	if (ev->extra_raw_buf && ev->extra_raw && *ev->extra_raw &&
	    ev->extra_raw == ev->extra_raw_buf->data)
		extra_text = audit_extra_text_in_place(ev);
	else
		extra_text = extra_copy = audit_extra_text(ev);
	if (ev->extra)
		session_id = json_string_value(json_object_get(ev->extra, "session_id"));
	/* Kept on the connection: compiling this INSERT compiles every trigger on audit_events
	 * with it (budget, metrics, time buckets), 72 % of a SQLite audit write's instructions
	 * when it was prepared anew for each row (bench/audit_write_bench.c). */
	if (db && dbx_prepare_kept(db, dbx_sql(db, sql, pg_sql), &st) != 0)
		snprintf(why, sizeof why, "%s", dbx_errmsg(db));
	if (!st)
		goto done;
	dbx_bind_int64(st, 1, ts);
	dbx_bind_text_or_null(st, 2, ev->request_id);
	dbx_bind_text_or_null(st, 3, ev->route);
	dbx_bind_text(st, 4, or_anonymous(ev->actor_sub));
	dbx_bind_text_or_null(st, 5, ev->actor_email);
	dbx_bind_text_or_null(st, 6,
			      ev->actor_groups_json && strcmp(ev->actor_groups_json, "[]") != 0
				      ? ev->actor_groups_json
				      : NULL);
	dbx_bind_text(st, 7, ev->verb);
	dbx_bind_text(st, 8, ev->outcome);
	dbx_bind_text_or_null(st, 9, ev->cluster);
	dbx_bind_text_or_null(st, 10, ev->res_group);
	dbx_bind_text_or_null(st, 11, ev->res_version);
	dbx_bind_text_or_null(st, 12, ev->res_type);
	dbx_bind_text_or_null(st, 13, ev->res_namespace);
	dbx_bind_text_or_null(st, 14, ev->res_name);
	dbx_bind_text_or_null(st, 15, ev->reason);
	dbx_bind_text_or_null(st, 16, session_id);
	dbx_bind_text_or_null(st, 17, extra_text);
	if (insert_chained(db, st, &id, why, sizeof why) == 0)
		rc = 0;
done:
	if (rc != 0)
		log_json(LOG_ERROR, "audit", "audit row not written",
			 json_pack("{s:s, s:s, s:s}", "verb", ev->verb, "actor.sub",
				   or_anonymous(ev->actor_sub), "error", why));
	audit_log_line(ev, ts, id);
	dbx_finalize(st);
	free(extra_copy);
	if (id_out)
		*id_out = id;
	return rc;
}

int audit_write(sqlite3 *db, const struct audit_event *ev, long long *id_out)
{
	struct dbx x;

	if (!db)
		return audit_write_dbx(NULL, ev, id_out);
	dbx_borrow_sqlite(&x, db);
	return audit_write_dbx(&x, ev, id_out);
}

static void set_text_column(json_t *o, const char *key, struct dbx_stmt *st, int col)
{
	const char *t = dbx_column_text(st, col);

	if (t && *t)
		json_object_set_new(o, key, json_string(t));
}

static json_t *json_column(struct dbx_stmt *st, int col)
{
	const char *t = dbx_column_text(st, col);

	return t ? json_loads(t, 0, NULL) : NULL;
}

json_t *audit_row_json(struct dbx_stmt *st)
{
	json_t *row = json_object(), *actor = json_object(), *resource = json_object(), *j;
	char ts[40];
	long long ns = dbx_column_int64(st, 1);

	if (!row || !actor || !resource) {
		json_decref(row);
		json_decref(actor);
		json_decref(resource);
		return NULL;
	}
	/* RFC 3339 with nanoseconds, UTC. */
	format_rfc3339_ms(ns / 1000000LL, ts, sizeof ts);
	snprintf(ts + 19, sizeof ts - 19, ".%09lldZ", ns % 1000000000LL);
	json_object_set_new(row, "id", json_integer(dbx_column_int64(st, 0)));
	json_object_set_new(row, "timestamp", json_string(ts));
	set_text_column(row, "requestId", st, 2);
	set_text_column(actor, "sub", st, 3);
	set_text_column(actor, "email", st, 4);
	if ((j = json_column(st, 5)))
		json_object_set_new(actor, "groups", j);
	json_object_set_new(row, "actor", actor);
	set_text_column(row, "verb", st, 6);
	set_text_column(row, "outcome", st, 7);
	set_text_column(row, "cluster", st, 8);
	set_text_column(resource, "group", st, 9);
	set_text_column(resource, "version", st, 10);
	set_text_column(resource, "resource", st, 11);
	set_text_column(resource, "namespace", st, 12);
	set_text_column(resource, "name", st, 13);
	json_object_set_new(row, "resource", resource);
	set_text_column(row, "reason", st, 14);
	if ((j = json_column(st, 15)))
		json_object_set_new(row, "extra", j);
	return row;
}

int audit_get_dbx(struct dbx *db, long long id, const char *only_actor, json_t **row)
{
	/* ?2 is compared as text on PostgreSQL, where a bare NULL parameter has no type. */
	static const char sql[] = "SELECT " AUDIT_ROW_COLUMNS " FROM audit_events WHERE id = ?1"
				  " AND (?2 IS NULL OR actor_sub = ?2)";
	static const char pg_sql[] = "SELECT " AUDIT_ROW_COLUMNS " FROM audit_events WHERE id = ?1"
				     " AND (CAST(?2 AS TEXT) IS NULL OR actor_sub = ?2)";
	struct dbx_stmt *st = NULL;
	enum dbx_step step;
	int rc = -1;

	*row = NULL;
	if (dbx_prepare(db, dbx_sql(db, sql, pg_sql), &st) != 0)
		return -1;
	dbx_bind_int64(st, 1, id);
	dbx_bind_text_or_null(st, 2, only_actor);
	step = dbx_step(st);
	if (step == DBX_DONE)
		rc = 0;
	else if (step == DBX_ROW && (*row = audit_row_json(st)))
		rc = 1;
	dbx_finalize(st);
	return rc;
}

int audit_get(sqlite3 *db, long long id, const char *only_actor, json_t **row)
{
	struct dbx x;

	dbx_borrow_sqlite(&x, db);
	return audit_get_dbx(&x, id, only_actor, row);
}
