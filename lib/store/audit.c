#include "store/audit.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/audit_chain.h"
#include "store/db.h"
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
 * one (a savepoint inside it), else BEGIN IMMEDIATE, so that two writers never read the
 * same head (store/audit_chain.h). */
static int insert_chained(sqlite3 *db, sqlite3_stmt *st, long long *id, char *why,
			  size_t whylen)
{
	bool own = sqlite3_get_autocommit(db) != 0;
	char prev[AUDIT_HASH_HEX];

	if (sqlite3_exec(db, own ? "BEGIN IMMEDIATE" : "SAVEPOINT audit_append", NULL, NULL,
			 NULL) != SQLITE_OK) {
		snprintf(why, whylen, "%s", sqlite3_errmsg(db));
		return -1;
	}
	if (audit_chain_head(db, prev) != 0 ||
	    sqlite3_bind_text(st, 18, prev, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE)
		goto fail;
	*id = sqlite3_last_insert_rowid(db);
	if (audit_chain_append(db, *id) != 0 ||
	    sqlite3_exec(db, own ? "COMMIT" : "RELEASE audit_append", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	return 0;
fail:
	*id = 0;
	/* Said before the rollback, which would reset it. */
	snprintf(why, whylen, "%s", sqlite3_errmsg(db));
	if (own) {
		db_rollback(db);
	} else {
		sqlite3_exec(db, "ROLLBACK TO audit_append", NULL, NULL, NULL);
		sqlite3_exec(db, "RELEASE audit_append", NULL, NULL, NULL);
	}
	return -1;
}

int audit_write(sqlite3 *db, const struct audit_event *ev, long long *id_out)
{
	static const char sql[] =
		"INSERT INTO audit_events (ts_unix_nano, request_id, route, actor_sub, actor_email,"
		" actor_groups, verb, outcome, cluster, res_group, res_version, res_type,"
		" res_namespace, res_name, reason, session_id, extra, prev_hash)"
		" VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
	long long ts = ev->ts_ns ? ev->ts_ns : now_ns(), id = 0;
	const char *session_id = NULL;
	char *extra_text = NULL, why[256] = "no database";
	sqlite3_stmt *st = NULL;
	int rc = -1;

	extra_text = audit_extra_text(ev);
	if (ev->extra)
		session_id = json_string_value(json_object_get(ev->extra, "session_id"));
	if (db && sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		snprintf(why, sizeof why, "%s", sqlite3_errmsg(db));
	if (!st)
		goto done;
	sqlite3_bind_int64(st, 1, ts);
	db_bind_text_or_null(st, 2, ev->request_id);
	db_bind_text_or_null(st, 3, ev->route);
	sqlite3_bind_text(st, 4, or_anonymous(ev->actor_sub), -1, SQLITE_STATIC);
	db_bind_text_or_null(st, 5, ev->actor_email);
	db_bind_text_or_null(st, 6,
			     ev->actor_groups_json && strcmp(ev->actor_groups_json, "[]") != 0
				     ? ev->actor_groups_json
				     : NULL);
	sqlite3_bind_text(st, 7, ev->verb, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, ev->outcome, -1, SQLITE_STATIC);
	db_bind_text_or_null(st, 9, ev->cluster);
	db_bind_text_or_null(st, 10, ev->res_group);
	db_bind_text_or_null(st, 11, ev->res_version);
	db_bind_text_or_null(st, 12, ev->res_type);
	db_bind_text_or_null(st, 13, ev->res_namespace);
	db_bind_text_or_null(st, 14, ev->res_name);
	db_bind_text_or_null(st, 15, ev->reason);
	db_bind_text_or_null(st, 16, session_id);
	db_bind_text_or_null(st, 17, extra_text);
	if (insert_chained(db, st, &id, why, sizeof why) == 0)
		rc = 0;
done:
	if (rc != 0)
		log_json(LOG_ERROR, "audit", "audit row not written",
			 json_pack("{s:s, s:s, s:s}", "verb", ev->verb, "actor.sub",
				   or_anonymous(ev->actor_sub), "error", why));
	audit_log_line(ev, ts, id);
	sqlite3_finalize(st);
	free(extra_text);
	if (id_out)
		*id_out = id;
	return rc;
}

static void set_text_column(json_t *o, const char *key, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	if (t && *t)
		json_object_set_new(o, key, json_string((const char *)t));
}

static json_t *json_column(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return t ? json_loads((const char *)t, 0, NULL) : NULL;
}

json_t *audit_row_json(sqlite3_stmt *st)
{
	json_t *row = json_object(), *actor = json_object(), *resource = json_object(), *j;
	char ts[40];
	long long ns = sqlite3_column_int64(st, 1);

	if (!row || !actor || !resource) {
		json_decref(row);
		json_decref(actor);
		json_decref(resource);
		return NULL;
	}
	/* RFC 3339 with nanoseconds, UTC. */
	format_rfc3339_ms(ns / 1000000LL, ts, sizeof ts);
	snprintf(ts + 19, sizeof ts - 19, ".%09lldZ", ns % 1000000000LL);
	json_object_set_new(row, "id", json_integer(sqlite3_column_int64(st, 0)));
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

int audit_get(sqlite3 *db, long long id, const char *only_actor, json_t **row)
{
	static const char sql[] = "SELECT " AUDIT_ROW_COLUMNS " FROM audit_events WHERE id = ?1"
				  " AND (?2 IS NULL OR actor_sub = ?2)";
	sqlite3_stmt *st = NULL;
	int rc = -1, step;

	*row = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	db_bind_text_or_null(st, 2, only_actor);
	step = sqlite3_step(st);
	if (step == SQLITE_DONE)
		rc = 0;
	else if (step == SQLITE_ROW && (*row = audit_row_json(st)))
		rc = 1;
	sqlite3_finalize(st);
	return rc;
}
