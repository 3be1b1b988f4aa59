/* Audit rows, the query builder (filters, paging by offset and by cursor, scope) and
 * retention, on a real SQLite file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/wait.h>

#include "store/audit.h"
#include "store/audit_chain.h"
#include "store/audit_refusal.h"
#include "net/client_addr.h"
#include "store/audit_query.h"
#include "store/audit_retention.h"
#include "store/db.h"
#include "store/login_attempts.h"
#include "unit.h"
#include "unit_db.h"

static char db_path[TEST_DB_PATH_MAX];

static sqlite3 *open_fresh(void)
{
	test_db_create(db_path);
	return test_db_open(db_path);
}

static void remove_db(sqlite3 *db)
{
	db_close(db);
	test_db_remove(db_path);
}

static void add(sqlite3 *db, long long ts, const char *actor, const char *verb, const char *cluster,
		const char *session_id)
{
	json_t *extra = session_id ? json_pack("{s:s}", "session_id", session_id) : NULL;
	struct audit_event ev = { .ts_ns = ts, .actor_sub = actor, .verb = verb,
				  .outcome = "success", .cluster = cluster, .extra = extra,
				  .request_id = "req-1" };

	ck_assert_int_eq(audit_write(db, &ev, NULL), 0);
	json_decref(extra);
}

static long long count_rows(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long n = -1;

	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static json_t *run(sqlite3 *db, struct audit_query *q)
{
	json_t *out = NULL;
	char err[256];

	ck_assert_msg(audit_query_run(db, q, &out, err, sizeof err) == 0, "%s", err);
	return out;
}

static long long item_id(json_t *result, size_t i)
{
	return json_integer_value(json_object_get(json_array_get(json_object_get(result, "items"), i), "id"));
}

START_TEST(rows_come_back_whole_and_newest_first)
{
	sqlite3 *db = open_fresh();
	struct audit_query q = { 0 };
	json_t *r, *row;

	add(db, 1000, "alice", "login", NULL, NULL);
	add(db, 3000, "bob", "cluster_shell_open", "prod", "s-1");
	add(db, 2000, "alice", "logout", NULL, NULL);
	r = run(db, &q);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "total")), 3);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "limit")), AUDIT_DEFAULT_LIMIT);
	ck_assert_int_eq(item_id(r, 0), 2);
	ck_assert_int_eq(item_id(r, 1), 3);
	ck_assert_int_eq(item_id(r, 2), 1);
	row = json_array_get(json_object_get(r, "items"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(row, "verb")), "cluster_shell_open");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(row, "actor"), "sub")), "bob");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(row, "extra"), "session_id")), "s-1");
	ck_assert_str_eq(json_string_value(json_object_get(row, "requestId")), "req-1");
	ck_assert_str_eq(json_string_value(json_object_get(row, "timestamp")), "1970-01-01T00:00:00.000003000Z");
	ck_assert_ptr_nonnull(json_object_get(row, "resource"));
	ck_assert_ptr_null(json_object_get(r, "nextCursor"));
	json_decref(r);
	remove_db(db);
}
END_TEST

START_TEST(filters_combine_with_and)
{
	sqlite3 *db = open_fresh();
	struct audit_query q = { 0 };
	char err[256];
	json_t *r;

	add(db, 1000, "alice", "login", NULL, NULL);
	add(db, 2000, "alice", "cluster_shell_open", "prod", "s-1");
	add(db, 3000, "bob", "cluster_shell_open", "prod", "s-2");
	add(db, 4000, "alice", "cluster_shell_close", "lab", "s-3");
	ck_assert_int_eq(audit_query_set_param(&q, "actor", "alice", err, sizeof err), 0);
	ck_assert_int_eq(audit_query_set_param(&q, "cluster", "prod", err, sizeof err), 0);
	r = run(db, &q);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "total")), 1);
	ck_assert_int_eq(item_id(r, 0), 2);
	json_decref(r);

	memset(&q, 0, sizeof q);
	ck_assert_int_eq(audit_query_set_param(&q, "session_id", "s-2", err, sizeof err), 0);
	r = run(db, &q);
	ck_assert_int_eq(item_id(r, 0), 3);
	json_decref(r);

	memset(&q, 0, sizeof q);
	q.from_ns = 2000;
	q.to_ns = 4000; /* exclusive */
	r = run(db, &q);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "total")), 2);
	json_decref(r);
	remove_db(db);
}
END_TEST

/* A filtered total is counted up to AUDIT_TOTAL_CAP rows and then says "at least"; the
 * whole table's total stays exact (kept by a trigger, not counted). Rows are filled with
 * SQL: the chain is beside the point here. */
START_TEST(total_is_exact_up_to_ten_thousand_then_says_at_least)
{
	sqlite3 *db = open_fresh();
	struct audit_query q = { 0 };
	char err[256];
	json_t *r;

	ck_assert_int_eq(sqlite3_exec(db,
		"WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 10000) "
		"INSERT INTO audit_events (ts_unix_nano, actor_sub, verb, outcome) "
		"SELECT 1000 + i, 'alice', 'login', 'success' FROM n", NULL, NULL, NULL), SQLITE_OK);
	add(db, 50000, "bob", "login", NULL, NULL);

	r = run(db, &q);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "total")), 10002);
	ck_assert(json_is_true(json_object_get(r, "totalExact")));
	json_decref(r);

	ck_assert_int_eq(audit_query_set_param(&q, "actor", "alice", err, sizeof err), 0);
	r = run(db, &q);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "total")), 10000);
	ck_assert(json_is_false(json_object_get(r, "totalExact")));
	ck_assert_int_eq(json_array_size(json_object_get(r, "items")), AUDIT_DEFAULT_LIMIT);
	json_decref(r);

	memset(&q, 0, sizeof q);
	ck_assert_int_eq(audit_query_set_param(&q, "actor", "bob", err, sizeof err), 0);
	r = run(db, &q);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "total")), 1);
	ck_assert(json_is_true(json_object_get(r, "totalExact")));
	json_decref(r);
	remove_db(db);
}
END_TEST

/* The cursor continues exactly after the last row seen, ties on the timestamp included. */
START_TEST(cursor_pages_through_rows_sharing_a_timestamp)
{
	sqlite3 *db = open_fresh();
	struct audit_query q = { .limit = 2 };
	json_t *r;
	char *cursor;

	for (int i = 0; i < 3; i++)
		add(db, 5000, "alice", "login", NULL, NULL);
	add(db, 4000, "alice", "logout", NULL, NULL);
	r = run(db, &q);
	ck_assert_int_eq(item_id(r, 0), 3);
	ck_assert_int_eq(item_id(r, 1), 2);
	cursor = strdup(json_string_value(json_object_get(r, "nextCursor")));
	json_decref(r);
	ck_assert_int_eq(audit_cursor_decode(cursor, &q.cursor_ts_ns, &q.cursor_id), 0);
	q.has_cursor = true;
	r = run(db, &q);
	ck_assert_int_eq(json_array_size(json_object_get(r, "items")), 2);
	ck_assert_int_eq(item_id(r, 0), 1);
	ck_assert_int_eq(item_id(r, 1), 4);
	json_decref(r);
	free(cursor);
	remove_db(db);
}
END_TEST

START_TEST(where_clause_binds_every_value)
{
	struct audit_query q = { 0 };
	struct buf sql;
	char err[256];

	buf_init(&sql, 4096);
	ck_assert_int_eq(audit_query_set_param(&q, "verb", "x' OR 1=1 --", err, sizeof err), 0);
	ck_assert_int_eq(audit_query_set_param(&q, "from", "2026-01-01T00:00:00Z", err, sizeof err), 0);
	ck_assert_int_eq(audit_query_where(&q, false, &sql), 0);
	ck_assert_str_eq(sql.data, " WHERE verb = ? AND ts_unix_nano >= ?");
	ck_assert_ptr_null(strstr(sql.data, "OR 1=1"));
	buf_free(&sql);
}
END_TEST

START_TEST(bad_parameters_are_refused_by_name)
{
	struct audit_query q = { 0 };
	char err[256];

	ck_assert_int_eq(audit_query_set_param(&q, "from", "yesterday", err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "from"));
	ck_assert_int_eq(audit_query_set_param(&q, "limit", "-3", err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "limit"));
	ck_assert_int_eq(audit_query_set_param(&q, "limit", "10x", err, sizeof err), -1);
	ck_assert_int_eq(audit_query_set_param(&q, "cursor", "not-a-cursor", err, sizeof err), -1);
	ck_assert_int_eq(audit_query_set_param(&q, "colour", "red", err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "colour"));
}
END_TEST

START_TEST(limit_is_clamped_and_cursor_pages_are_stable)
{
	sqlite3 *db = open_fresh();
	struct audit_query q = { 0 };
	char err[256];
	const char *cursor;
	json_t *page1, *page2;

	for (int i = 1; i <= 5; i++)
		add(db, 1000 * i, "alice", "login", NULL, NULL);
	q.limit = 100000;
	page1 = run(db, &q);
	ck_assert_int_eq(json_integer_value(json_object_get(page1, "limit")), AUDIT_MAX_LIMIT);
	json_decref(page1);

	q.limit = 2;
	page1 = run(db, &q);
	ck_assert_int_eq(item_id(page1, 0), 5);
	ck_assert_int_eq(item_id(page1, 1), 4);
	cursor = json_string_value(json_object_get(page1, "nextCursor"));
	ck_assert_ptr_nonnull(cursor);
	/* A row written meanwhile does not shift the next page. */
	add(db, 9000, "alice", "login", NULL, NULL);
	ck_assert_int_eq(audit_query_set_param(&q, "cursor", cursor, err, sizeof err), 0);
	page2 = run(db, &q);
	ck_assert_int_eq(item_id(page2, 0), 3);
	ck_assert_int_eq(item_id(page2, 1), 2);
	json_decref(page1);
	json_decref(page2);

	memset(&q, 0, sizeof q);
	q.limit = 2;
	q.offset = 4;
	page2 = run(db, &q);
	ck_assert_int_eq(json_array_size(json_object_get(page2, "items")), 2);
	ck_assert_int_eq(item_id(page2, 0), 2);
	json_decref(page2);
	remove_db(db);
}
END_TEST

START_TEST(get_one_respects_the_owner)
{
	sqlite3 *db = open_fresh();
	json_t *row = NULL;

	add(db, 1000, "alice", "login", NULL, NULL);
	ck_assert_int_eq(audit_get(db, 1, NULL, &row), 1);
	json_decref(row);
	ck_assert_int_eq(audit_get(db, 1, "alice", &row), 1);
	json_decref(row);
	ck_assert_int_eq(audit_get(db, 1, "bob", &row), 0);
	ck_assert_int_eq(audit_get(db, 99, NULL, &row), 0);
	remove_db(db);
}
END_TEST

static void add_big(sqlite3 *db, long long ts, int n)
{
	char big[4096];

	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	for (int i = 0; i < n; i++) {
		json_t *extra = json_pack("{s:s}", "transcript", big);
		struct audit_event ev = { .ts_ns = ts + i, .actor_sub = "alice", .verb = "ssm_session_close",
					  .outcome = "success", .extra = extra };
		ck_assert_int_eq(audit_write(db, &ev, NULL), 0);
		json_decref(extra);
	}
}

START_TEST(retention_deletes_old_rows_by_age)
{
	sqlite3 *db = open_fresh();
	struct retention_result r;
	long long day = 86400LL * 1000000000LL, now = 100 * day;
	struct audit_query q = { 0 };
	json_t *res;

	add(db, now - 40 * day, "alice", "login", NULL, NULL);
	add(db, now - 1 * day, "alice", "login", NULL, NULL);
	/* Older, but written after a younger row: it waits for the younger one. */
	add(db, now - 50 * day, "alice", "login", NULL, NULL);
	ck_assert_int_eq(audit_retention_run(db, db_path, 30, 0, now, &r), 0);
	ck_assert_int_eq(r.deleted_by_age, 1);
	res = run(db, &q);
	ck_assert_int_eq(json_integer_value(json_object_get(res, "total")), 2);
	ck_assert_int_eq(item_id(res, 0), 2);
	ck_assert_int_eq(item_id(res, 1), 3);
	json_decref(res);
	remove_db(db);
}
END_TEST

/* The audit rows' own bytes are what the budget measures: the usage row follows inserts,
 * updates and deletes, whoever makes them. */
START_TEST(audit_usage_counts_the_rows_own_bytes)
{
	sqlite3 *db = open_fresh();
	long long bytes, rows;

	ck_assert_int_eq(audit_usage_get(db, &bytes, &rows), 0);
	ck_assert_int_eq(bytes, 0);
	/* 16 for the two integers, 5 "alice", 5 "login", 7 "success", 5 "req-1", 64 prev_hash */
	add(db, 1000, "alice", "login", NULL, NULL);
	ck_assert_int_eq(audit_usage_get(db, &bytes, &rows), 0);
	ck_assert_int_eq(bytes, 16 + 5 + 5 + 7 + 5 + 64);
	ck_assert_int_eq(rows, 1);
	ck_assert_int_eq(sqlite3_exec(db, "UPDATE audit_events SET reason = 'abc'", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(audit_usage_get(db, &bytes, &rows), 0);
	ck_assert_int_eq(bytes, 16 + 5 + 5 + 7 + 5 + 64 + 3);
	ck_assert_int_eq(sqlite3_exec(db, "DELETE FROM audit_events", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(audit_usage_get(db, &bytes, &rows), 0);
	ck_assert_int_eq(bytes, 0);
	ck_assert_int_eq(rows, 0);
	remove_db(db);
}
END_TEST

/* With retentionDays set, the budget never deletes a row the promise covers: it is reached
 * and said so. What strangers store (login attempts) does not count. */
START_TEST(budget_reached_keeps_rows_younger_than_retention)
{
	sqlite3 *db = open_fresh();
	struct retention_result r;
	long long day = 86400LL * 1000000000LL, now = 100 * day, bytes, rows;
	char state[32];

	add(db, now - day, "alice", "login", NULL, NULL);
	for (int i = 0; i < 2000; i++) {
		snprintf(state, sizeof state, "s-%d", i);
		ck_assert_int_eq(login_attempt_put(db, "10.0.0.1", state, "n", "v", "/", 1000), 0);
	}
	ck_assert_int_eq(audit_retention_run(db, db_path, 30, 1, now, &r), 0);
	ck_assert_int_eq(r.deleted_by_age + r.deleted_by_size, 0);
	ck_assert(!r.budget_reached);

	add_big(db, now - day, 800);        /* about 3.2 MiB of rows against a 1 MiB budget */
	ck_assert_int_eq(audit_retention_run(db, db_path, 30, 1, now, &r), 0);
	ck_assert_int_eq(r.deleted_by_age + r.deleted_by_size, 0);
	ck_assert(r.budget_reached);
	ck_assert_int_eq(r.budget_bytes, 1024 * 1024);
	ck_assert_int_gt(r.audit_bytes_after, 3 * 1024 * 1024);
	ck_assert_int_eq(audit_usage_get(db, &bytes, &rows), 0);
	ck_assert_int_eq(rows, 801);
	remove_db(db);
}
END_TEST

/* With no age promise (retentionDays 0) the budget deletes the oldest rows until the rest
 * fit, and the file gives the space back. */
START_TEST(without_retention_days_the_budget_deletes_the_oldest)
{
	sqlite3 *db = open_fresh();
	struct retention_result r;
	long long bytes, rows;

	add_big(db, 1000, 800);
	sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	ck_assert_int_eq(audit_retention_run(db, db_path, 0, 1, 5000, &r), 0);
	ck_assert_int_gt(r.deleted_by_size, 0);
	ck_assert(!r.budget_reached);
	ck_assert_int_le(r.audit_bytes_after, 1024 * 1024);
	ck_assert_int_gt(r.audit_bytes_after, 1024 * 1024 - 8192);
	ck_assert_int_lt(r.size_after, r.size_before);
	ck_assert_int_eq(audit_usage_get(db, &bytes, &rows), 0);
	ck_assert_int_eq(rows, 800 - r.deleted_by_size);
	/* The newest row is one of those kept. */
	ck_assert_int_eq(count_rows(db, "SELECT count(*) FROM audit_events WHERE id = 800"), 1);
	remove_db(db);
}
END_TEST

static void exec_ok(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK, "%s: %s", sql, msg ? msg : "");
}

static void verify(sqlite3 *db, struct audit_verify *v)
{
	ck_assert_int_eq(audit_chain_verify(db, v), 0);
}

static void assert_broken_at(sqlite3 *db, long long id)
{
	struct audit_verify v;

	verify(db, &v);
	ck_assert_msg(!v.intact, "the chain should be broken at row %lld", id);
	ck_assert_int_eq(v.broken_id, id);
}

/* 10,000 rows, then retention takes the oldest 4,000: the rest still verify from the anchor,
 * which holds the hash of the last deleted row. */
START_TEST(chain_verifies_after_ten_thousand_rows_and_retention)
{
	sqlite3 *db = open_fresh();
	long long day = 86400LL * 1000000000LL, now = 100 * day;
	struct retention_result r;
	struct audit_verify v;

	exec_ok(db, "BEGIN");
	for (int i = 0; i < 10000; i++)
		add(db, (i < 4000 ? now - 40 * day : now - day) + i, i % 2 ? "alice" : "bob", "login",
		    i % 3 ? "prod" : NULL, i % 5 ? NULL : "sess-1");
	exec_ok(db, "COMMIT");
	verify(db, &v);
	ck_assert_msg(v.intact, "broken at %lld: %s", v.broken_id, v.problem);
	ck_assert_int_eq(v.rows, 10000);
	ck_assert_int_eq(v.head_id, 10000);
	ck_assert_int_eq(v.anchor_id, 0);

	ck_assert_int_eq(audit_retention_run(db, db_path, 30, 0, now, &r), 0);
	ck_assert_int_eq(r.deleted_by_age, 4000);
	verify(db, &v);
	ck_assert_msg(v.intact, "broken at %lld: %s", v.broken_id, v.problem);
	ck_assert_int_eq(v.rows, 6000);
	ck_assert_int_eq(v.anchor_id, 4000);
	ck_assert_int_eq(v.first_id, 4001);
	ck_assert_int_eq(v.last_id, 10000);
	/* The next row continues the chain. */
	add(db, now, "alice", "logout", NULL, NULL);
	verify(db, &v);
	ck_assert(v.intact);
	ck_assert_int_eq(v.rows, 6001);
	remove_db(db);
}
END_TEST

/* Any one edit names its row: content, the link, the last row (against the head), a
 * deleted row (the one after the gap), a row slipped in outside the chain. */
START_TEST(editing_one_row_names_that_row)
{
	sqlite3 *db = open_fresh();
	struct audit_verify v;

	for (int i = 0; i < 20; i++)
		add(db, 1000 + i, "alice", "login", NULL, NULL);
	verify(db, &v);
	ck_assert(v.intact);

	exec_ok(db, "UPDATE audit_events SET actor_sub = 'mallory' WHERE id = 7");
	assert_broken_at(db, 7);
	exec_ok(db, "UPDATE audit_events SET actor_sub = 'alice' WHERE id = 7");
	verify(db, &v);
	ck_assert(v.intact);

	exec_ok(db, "UPDATE audit_events SET prev_hash = replace(prev_hash, substr(prev_hash, 1, 1), 'f') WHERE id = 12");
	assert_broken_at(db, 12);
	remove_db(db);

	db = open_fresh();
	for (int i = 0; i < 5; i++)
		add(db, 1000 + i, "alice", "login", NULL, NULL);
	exec_ok(db, "UPDATE audit_events SET reason = 'edited' WHERE id = 5");
	assert_broken_at(db, 5);
	exec_ok(db, "UPDATE audit_events SET reason = NULL WHERE id = 5");
	exec_ok(db, "UPDATE audit_events SET outcome = 'failure' WHERE id = 1");
	assert_broken_at(db, 1);
	exec_ok(db, "UPDATE audit_events SET outcome = 'success' WHERE id = 1");
	exec_ok(db, "DELETE FROM audit_events WHERE id = 3");
	assert_broken_at(db, 4);
	remove_db(db);

	db = open_fresh();
	for (int i = 0; i < 5; i++)
		add(db, 1000 + i, "alice", "login", NULL, NULL);
	exec_ok(db, "INSERT INTO audit_events (ts_unix_nano, actor_sub, verb, outcome) VALUES (1, 'x', 'login', 'success')");
	assert_broken_at(db, 6);
	exec_ok(db, "DELETE FROM audit_events WHERE id = 6");
	verify(db, &v);
	ck_assert(v.intact);
	exec_ok(db, "DELETE FROM audit_events WHERE id = 5");
	assert_broken_at(db, 5);
	remove_db(db);
}
END_TEST

/* Writers in several processes, each on its own connection, append at once: the chain
 * never forks, because each append reads the head inside its write transaction. */
START_TEST(concurrent_writers_never_fork_the_chain)
{
	sqlite3 *db = open_fresh();
	struct audit_verify v;
	pid_t pids[4];

	db_close(db);
	for (int p = 0; p < 4; p++) {
		pids[p] = fork();
		ck_assert_int_ge(pids[p], 0);
		if (pids[p] == 0) {
			sqlite3 *mine = NULL;
			char err[256];
			int failed = db_open(db_path, &mine, err, sizeof err) != 0;
			for (int i = 0; i < 250 && !failed; i++) {
				struct audit_event ev = { .actor_sub = "writer", .verb = "login", .outcome = "success" };
				failed = audit_write(mine, &ev, NULL) != 0;
			}
			db_close(mine);
			_exit(failed);
		}
	}
	for (int p = 0; p < 4; p++) {
		int status = 0;
		ck_assert_int_eq(waitpid(pids[p], &status, 0), pids[p]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer %d failed", p);
	}
	db = test_db_open(db_path);
	verify(db, &v);
	ck_assert_msg(v.intact, "broken at %lld: %s", v.broken_id, v.problem);
	ck_assert_int_eq(v.rows, 1000);
	remove_db(db);
}
END_TEST

static struct audit_refusal refusal(const char *actor, const char *code)
{
	struct audit_refusal r = { .verb = "cluster_shell_open", .code = code, .message = "no",
				   .status = 403, .actor_sub = actor, .cluster = "prod",
				   .client = "192.0.2.7", .via = "authorizer" };
	return r;
}

/* 10,000 identical refusals in one minute: one row at once, one summary row with the
 * count once the minute is over; another actor or code is another row; the chain holds. */
START_TEST(identical_refusals_make_a_bounded_number_of_rows)
{
	sqlite3 *db = open_fresh();
	struct audit_refusal r = refusal(NULL, "E_AUTH"), other = refusal("bob", "E_FORBIDDEN");
	long long minute = 1800000000LL;   /* a multiple of 60 */
	struct audit_verify v;
	json_t *row;

	ck_assert_int_eq(audit_refusal_record(db, &r, minute + 1), 1);
	for (int i = 1; i < 10000; i++)
		ck_assert_int_eq(audit_refusal_record(db, &r, minute + 1 + i % 59), 0);
	ck_assert_int_eq(audit_refusal_record(db, &other, minute + 30), 1);
	ck_assert_int_eq(count_rows(db, "SELECT count(*) FROM audit_events"), 2);
	ck_assert_int_eq(audit_get(db, 1, NULL, &row), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(row, "actor"), "sub")), "anonymous");
	ck_assert_str_eq(json_string_value(json_object_get(row, "verb")), "cluster_shell_open");
	ck_assert_str_eq(json_string_value(json_object_get(row, "outcome")), "denied");
	ck_assert_str_eq(json_string_value(json_object_get(row, "reason")), "E_AUTH");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(row, "extra"), "client")), "192.0.2.7");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(row, "extra"), "count")), 1);
	json_decref(row);

	/* Still the same minute: nothing to sum up yet. */
	ck_assert_int_eq(audit_refusal_flush(db, minute + 59, 60), 0);
	ck_assert_int_eq(count_rows(db, "SELECT count(*) FROM audit_events"), 2);
	/* The minute is over: one summary for E_AUTH (10,000), none for bob's single refusal. */
	ck_assert_int_eq(audit_refusal_flush(db, minute + 60, 60), 0);
	ck_assert_int_eq(count_rows(db, "SELECT count(*) FROM audit_events"), 3);
	ck_assert_int_eq(count_rows(db, "SELECT json_extract(extra, '$.count') FROM audit_events WHERE id = 3"), 10000);
	ck_assert_int_eq(count_rows(db, "SELECT json_extract(extra, '$.first_id') FROM audit_events WHERE id = 3"), 1);
	ck_assert_int_eq(count_rows(db, "SELECT count(*) FROM audit_refusal_windows WHERE count > 0"), 0);

	/* The next minute starts a new window; its first refusal writes a row again, and also
	 * sums up windows that are over on its way in. */
	ck_assert_int_eq(audit_refusal_record(db, &r, minute + 61), 1);
	ck_assert_int_eq(audit_refusal_record(db, &r, minute + 62), 0);
	ck_assert_int_eq(audit_refusal_record(db, &r, minute + 125), 1);
	ck_assert_int_eq(count_rows(db, "SELECT count(*) FROM audit_events"), 6);
	ck_assert_int_eq(count_rows(db, "SELECT json_extract(extra, '$.count') FROM audit_events WHERE id = 5"), 2);
	verify(db, &v);
	ck_assert_msg(v.intact, "broken at %lld: %s", v.broken_id, v.problem);
	remove_db(db);
}
END_TEST

/* audit.refusalWindow shorter than the minute: the same bound per window of that length
 * (windows start at its multiples), and the summary row says where the window ended. */
START_TEST(a_configured_window_bounds_the_rows_per_window)
{
	sqlite3 *db = open_fresh();
	struct audit_refusal r = refusal("carol", "E_ORIGIN");
	long long start = 1800000010LL;   /* a multiple of 10, not of 60 */
	struct audit_verify v;

	r.window_s = 10;
	ck_assert_int_eq(audit_refusal_record(db, &r, start + 1), 1);
	ck_assert_int_eq(audit_refusal_record(db, &r, start + 5), 0);
	ck_assert_int_eq(audit_refusal_record(db, &r, start + 9), 0);
	/* Still inside the 10 s window: nothing to sum up. */
	ck_assert_int_eq(audit_refusal_flush(db, start + 9, 10), 0);
	ck_assert_int_eq(count_rows(db, "SELECT count(*) FROM audit_events"), 1);
	/* Over at start + 10, though its minute is not. */
	ck_assert_int_eq(audit_refusal_flush(db, start + 10, 10), 0);
	ck_assert_int_eq(count_rows(db, "SELECT count(*) FROM audit_events"), 2);
	ck_assert_int_eq(count_rows(db, "SELECT json_extract(extra, '$.count') FROM audit_events WHERE id = 2"), 3);
	ck_assert_int_eq(count_rows(db, "SELECT json_extract(extra, '$.first_id') FROM audit_events WHERE id = 2"), 1);
	ck_assert_int_eq(count_rows(db, "SELECT json_extract(extra, '$.window_start') FROM audit_events WHERE id = 2"), 1800000010);
	ck_assert_int_eq(count_rows(db, "SELECT json_extract(extra, '$.window_end') FROM audit_events WHERE id = 2"), 1800000020);
	/* The next window writes its first row again. */
	ck_assert_int_eq(audit_refusal_record(db, &r, start + 11), 1);
	ck_assert_int_eq(audit_refusal_record(db, &r, start + 19), 0);
	ck_assert_int_eq(count_rows(db, "SELECT count(*) FROM audit_events"), 3);
	verify(db, &v);
	ck_assert_msg(v.intact, "broken at %lld: %s", v.broken_id, v.problem);
	remove_db(db);
}
END_TEST

/* A refusal reads the clock, then waits for the write lock; a refusal of the next window may
 * take it first and sum up the earlier window. The late one counts in the newest window,
 * it does not open its own again (a second first row and later a second summary: seen in
 * audit_refusals.test.mjs's flood, 5 and 6 rows in 2 windows). Failed before: 2 for the
 * late refusal (a row), then 6 rows. */
START_TEST(a_refusal_late_for_its_window_counts_in_the_newest)
{
	sqlite3 *db = open_fresh();
	struct audit_refusal r = refusal("dave", "E_ORIGIN"), other = refusal("erin", "E_AUTH");
	long long start = 1800000010LL;   /* a multiple of 10 */
	struct audit_verify v;

	r.window_s = other.window_s = 10;
	ck_assert_int_eq(audit_refusal_record(db, &r, start + 1), 1);
	ck_assert_int_eq(audit_refusal_record(db, &r, start + 2), 0);
	/* The next window's first refusal sums up the first window (rows 1, 2, 3). */
	ck_assert_int_eq(audit_refusal_record(db, &r, start + 11), 1);
	ck_assert_int_eq(count_rows(db, "SELECT count(*) FROM audit_events"), 3);
	/* Late, with the first window's time: counted, no row. */
	ck_assert_int_eq(audit_refusal_record(db, &r, start + 9), 0);
	ck_assert_int_eq(count_rows(db, "SELECT count(*) FROM audit_events"), 3);
	ck_assert_int_eq(count_rows(db, "SELECT count FROM audit_refusal_windows WHERE actor_sub = 'dave'"), 2);
	/* The sweep alone sums the second window up; a late refusal after it opens the window
	 * the sweep reached, once, and another actor's late refusal does the same. */
	ck_assert_int_eq(audit_refusal_flush(db, start + 20, 10), 0);
	ck_assert_int_eq(count_rows(db, "SELECT json_extract(extra, '$.count') FROM audit_events WHERE id = 4"), 2);
	ck_assert_int_eq(audit_refusal_record(db, &r, start + 15), 1);
	ck_assert_int_eq(audit_refusal_record(db, &r, start + 12), 0);
	ck_assert_int_eq(audit_refusal_record(db, &other, start + 3), 1);
	ck_assert_int_eq(count_rows(db, "SELECT count(*) FROM audit_refusal_windows WHERE count > 0 AND window_start = 1800000030"), 2);
	ck_assert_int_eq(count_rows(db, "SELECT count(*) FROM audit_events"), 6);
	/* Nothing but the mark left to sum up: the sweep writes nothing. */
	ck_assert_int_eq(audit_refusal_flush(db, start + 40, 10), 0);
	ck_assert_int_eq(count_rows(db, "SELECT count(*) FROM audit_events"), 7);
	ck_assert_int_eq(audit_refusal_flush(db, start + 50, 10), 0);
	ck_assert_int_eq(count_rows(db, "SELECT count(*) FROM audit_events"), 7);
	verify(db, &v);
	ck_assert_msg(v.intact, "broken at %lld: %s", v.broken_id, v.problem);
	remove_db(db);
}
END_TEST

START_TEST(client_address_trusts_only_our_own_proxy)
{
	char out[CLIENT_ADDR_MAX];

	client_address("203.0.113.9", "198.51.100.1", out, sizeof out);
	ck_assert_str_eq(out, "203.0.113.9");
	client_address("127.0.0.1", "10.9.9.9, 198.51.100.1", out, sizeof out);
	ck_assert_str_eq(out, "198.51.100.1");
	client_address("::1", "2001:db8::1", out, sizeof out);
	ck_assert_str_eq(out, "2001:db8::1");
	client_address("127.0.0.1", "198.51.100.1, <script>", out, sizeof out);
	ck_assert_str_eq(out, "127.0.0.1");
	client_address("127.0.0.1", NULL, out, sizeof out);
	ck_assert_str_eq(out, "127.0.0.1");
	client_address("not an address", NULL, out, sizeof out);
	ck_assert_str_eq(out, "");
	client_address(NULL, "198.51.100.1", out, sizeof out);
	ck_assert_str_eq(out, "");
}
END_TEST

static Suite *audit_suite(void)
{
	Suite *s = suite_create("audit");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, rows_come_back_whole_and_newest_first);
	tcase_add_test(tc, filters_combine_with_and);
	tcase_add_test(tc, where_clause_binds_every_value);
	tcase_add_test(tc, bad_parameters_are_refused_by_name);
	tcase_add_test(tc, limit_is_clamped_and_cursor_pages_are_stable);
	tcase_add_test(tc, get_one_respects_the_owner);
	tcase_add_test(tc, retention_deletes_old_rows_by_age);
	tcase_add_test(tc, audit_usage_counts_the_rows_own_bytes);
	tcase_add_test(tc, budget_reached_keeps_rows_younger_than_retention);
	tcase_add_test(tc, without_retention_days_the_budget_deletes_the_oldest);
	tcase_add_test(tc, total_is_exact_up_to_ten_thousand_then_says_at_least);
	tcase_add_test(tc, cursor_pages_through_rows_sharing_a_timestamp);
	tcase_add_test(tc, chain_verifies_after_ten_thousand_rows_and_retention);
	tcase_add_test(tc, editing_one_row_names_that_row);
	tcase_add_test(tc, concurrent_writers_never_fork_the_chain);
	tcase_add_test(tc, identical_refusals_make_a_bounded_number_of_rows);
	tcase_add_test(tc, a_configured_window_bounds_the_rows_per_window);
	tcase_add_test(tc, a_refusal_late_for_its_window_counts_in_the_newest);
	tcase_add_test(tc, client_address_trusts_only_our_own_proxy);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(audit_suite)
