/* The audit modules (store/audit*.h, store/login_attempts.h) and the metrics storage
 * (metrics/metrics_store.h, metrics_render.h) on both engines: every test runs twice, on
 * SQLite (_i == 0) and on a real PostgreSQL 15 (_i == 1, tests/unit/unit_pg.h), through
 * the modules' *_dbx functions. What must hold across replicas runs with one connection
 * per thread. test_audit.c, test_db.c and test_metrics.c keep testing the sqlite3 * API. */
#include <pthread.h>

#include "metrics/metrics_render.h"
#include "metrics/metrics_store.h"
#include "store/audit.h"
#include "store/audit_chain.h"
#include "store/audit_query.h"
#include "store/audit_refusal.h"
#include "store/audit_retention.h"
#include "store/db.h"
#include "store/dbx.h"
#include "store/login_attempts.h"
#include "unit.h"
#include "unit_db.h"
#include "unit_dbx.h"
#include "unit_pg.h"

static void exec_ok(struct dbx *db, const char *sql)
{
	ck_assert_msg(dbx_exec(db, sql) == 0, "%s: %s", sql, dbx_errmsg(db));
}

/* The one integer a query answers (?1 bound to arg when it has one). */
static long long query_int(struct dbx *db, const char *sql, long long arg)
{
	struct dbx_stmt *st = NULL;
	long long v;

	ck_assert_msg(dbx_prepare(db, sql, &st) == 0, "%s: %s", sql, dbx_errmsg(db));
	if (dbx_param_count(st) > 0)
		dbx_bind_int64(st, 1, arg);
	ck_assert_msg(dbx_step(st) == DBX_ROW, "%s: %s", sql, dbx_errmsg(db));
	v = dbx_column_int64(st, 0);
	dbx_finalize(st);
	return v;
}

static long long write_event(struct dbx *db, long long ts_ns, const char *actor, const char *verb,
			     const char *outcome, const char *cluster)
{
	struct audit_event ev = { .ts_ns = ts_ns, .actor_sub = actor, .verb = verb,
				  .outcome = outcome, .cluster = cluster };
	long long id = 0;

	ck_assert_int_eq(audit_write_dbx(db, &ev, &id), 0);
	ck_assert_int_gt(id, 0);
	return id;
}

static void assert_intact(struct dbx *db, long long rows)
{
	struct audit_verify v;

	ck_assert_int_eq(audit_chain_verify_dbx(db, &v), 0);
	ck_assert_msg(v.intact, "broken at %lld: %s", v.broken_id, v.problem);
	ck_assert_int_eq(v.rows, rows);
}

/* A row is written with its link, read back as the API shows it, counted in the audit
 * budget by the same measure on both engines, and an altered row breaks the chain. */
START_TEST(rows_are_chained_measured_and_verified)
{
	struct unit_dbx f;
	struct audit_verify v;
	json_t *row = NULL, *extra = json_pack("{s:s}", "session_id", "s-1");
	struct audit_event ev = { .ts_ns = 1700000000123456789LL, .actor_sub = "alice",
				  .actor_email = "a@example.com", .actor_groups_json = "[\"ops\"]",
				  .verb = "cluster_shell_open", .outcome = "success",
				  .cluster = "prod", .extra = extra };
	long long id1, id2, id3, bytes, rows;

	unit_dbx_open(&f, _i);
	ck_assert_int_eq(audit_write_dbx(f.db, &ev, &id1), 0);
	id2 = write_event(f.db, 1700000001000000000LL, "alice", "login", "success", NULL);
	id3 = write_event(f.db, 1700000002000000000LL, "bob", "login", "success", NULL);
	ck_assert_int_eq(id2, id1 + 1);
	ck_assert_int_eq(id3, id2 + 1);
	assert_intact(f.db, 3);

	ck_assert_int_eq(audit_get_dbx(f.db, id1, NULL, &row), 1);
	ck_assert_str_eq(json_string_value(json_object_get(row, "timestamp")),
			 "2023-11-14T22:13:20.123456789Z");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(row, "actor"), "email")),
			 "a@example.com");
	ck_assert_str_eq(json_string_value(json_array_get(
				 json_object_get(json_object_get(row, "actor"), "groups"), 0)), "ops");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(row, "extra"), "session_id")),
			 "s-1");
	json_decref(row);
	/* Not the caller's row: not found; the caller's own: found. */
	ck_assert_int_eq(audit_get_dbx(f.db, id3, "alice", &row), 0);
	ck_assert_ptr_null(row);
	ck_assert_int_eq(audit_get_dbx(f.db, id3, "bob", &row), 1);
	json_decref(row);

	/* 16 for the integers, then each text's bytes, prev_hash's 64 included:
	 * row 2: alice 5 + login 5 + success 7 + 64 = 97; row 3: bob 3 + 5 + 7 + 64 = 95;
	 * row 1: alice 5 + a@example.com 13 + ["ops"] 7 + cluster_shell_open 18 + success 7
	 * + prod 4 + s-1 3 + {"session_id":"s-1"} 20 + 64 = 141 + 16 = 157. */
	ck_assert_int_eq(audit_usage_get_dbx(f.db, &bytes, &rows), 0);
	ck_assert_int_eq(rows, 3);
	ck_assert_int_eq(bytes, 157 + 97 + 95);

	/* An UPDATE (which no periscope path makes) changes the measure and breaks the chain
	 * at that row. */
	exec_ok(f.db, "UPDATE audit_events SET actor_sub = 'mallory' WHERE verb = 'login' AND actor_sub = 'alice'");
	ck_assert_int_eq(audit_usage_get_dbx(f.db, &bytes, &rows), 0);
	ck_assert_int_eq(bytes, 157 + 97 + 95 + 2);
	ck_assert_int_eq(audit_chain_verify_dbx(f.db, &v), 0);
	ck_assert(!v.intact);
	ck_assert_int_eq(v.broken_id, id2);
	ck_assert_str_eq(v.problem, "altered: its content no longer has the hash the next row recorded");
	json_decref(extra);
	unit_dbx_close(&f);
}
END_TEST

/* Replicas (threads, one connection each) append at once: every row lands in one chain. */
#define WRITERS 8
#define ROWS_EACH 25

struct writer {
	const char *url;
	pthread_barrier_t *start;
	int n;
	int written;
};

static void *write_rows(void *arg)
{
	struct writer *w = arg;
	struct dbx *db = NULL;
	char err[512], actor[32];

	if (dbx_open(w->url, NULL, &db, err, sizeof err) != 0)
		fprintf(stderr, "# writer: %s\n", err);
	pthread_barrier_wait(w->start);
	snprintf(actor, sizeof actor, "writer-%d", w->n);
	for (int i = 0; db && i < ROWS_EACH; i++) {
		struct audit_event ev = { .actor_sub = actor, .verb = "login", .outcome = "success" };

		if (audit_write_dbx(db, &ev, NULL) == 0)
			w->written++;
	}
	dbx_close(db);
	return NULL;
}

START_TEST(concurrent_writers_on_several_connections_keep_one_chain)
{
	struct unit_dbx f;
	struct writer w[WRITERS];
	pthread_t threads[WRITERS];
	pthread_barrier_t start;
	struct audit_verify v;

	unit_dbx_open(&f, _i);
	ck_assert_int_eq(pthread_barrier_init(&start, NULL, WRITERS), 0);
	for (int i = 0; i < WRITERS; i++) {
		w[i] = (struct writer){ .url = f.url, .start = &start, .n = i };
		ck_assert_int_eq(pthread_create(&threads[i], NULL, write_rows, &w[i]), 0);
	}
	for (int i = 0; i < WRITERS; i++) {
		ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
		ck_assert_int_eq(w[i].written, ROWS_EACH);
	}
	pthread_barrier_destroy(&start);
	ck_assert_int_eq(audit_chain_verify_dbx(f.db, &v), 0);
	ck_assert_msg(v.intact, "broken at %lld: %s", v.broken_id, v.problem);
	ck_assert_int_eq(v.rows, WRITERS * ROWS_EACH);
	ck_assert_int_eq(v.head_id, v.last_id);
	/* No two rows name the same predecessor: one chain, no fork. */
	ck_assert_int_eq(query_int(f.db, "SELECT count(DISTINCT prev_hash) FROM audit_events", 0),
			 WRITERS * ROWS_EACH);
	/* And the trigger counted each sign-in once. */
	ck_assert_int_eq(query_int(f.db, "SELECT value FROM metrics_counters WHERE name ="
					 " 'periscope_signins_total'", 0), WRITERS * ROWS_EACH);
	unit_dbx_close(&f);
}
END_TEST

static json_t *run_query(struct dbx *db, struct audit_query *q)
{
	json_t *out = NULL;
	char err[256];

	ck_assert_msg(audit_query_run_dbx(db, q, &out, err, sizeof err) == 0, "%s", err);
	return out;
}

static long long item_id(json_t *out, size_t i)
{
	return json_integer_value(json_object_get(json_array_get(json_object_get(out, "items"), i),
						  "id"));
}

/* GET /api/audit's filters, totals and cursor give the same answers on both engines. */
START_TEST(query_filters_totals_and_cursor)
{
	struct unit_dbx f;
	struct audit_query q;
	json_t *out;
	long long id[6];
	char err[128];
	const char *cursor;

	unit_dbx_open(&f, _i);
	id[0] = write_event(f.db, 1000, "alice", "login", "success", NULL);
	id[1] = write_event(f.db, 2000, "alice", "cluster_shell_open", "success", "prod");
	id[2] = write_event(f.db, 3000, "bob", "cluster_shell_open", "denied", "prod");
	id[3] = write_event(f.db, 3000, "alice", "cluster_shell_open", "success", "dev");
	id[4] = write_event(f.db, 5000, "alice", "cluster_shell_close", "success", "prod");
	id[5] = write_event(f.db, 6000, "bob", "login", "success", NULL);

	memset(&q, 0, sizeof q);
	out = run_query(f.db, &q);
	ck_assert_int_eq(json_integer_value(json_object_get(out, "total")), 6);
	ck_assert(json_is_true(json_object_get(out, "totalExact")));
	ck_assert_int_eq(item_id(out, 0), id[5]);
	/* Same timestamp: the larger id first. */
	ck_assert_int_eq(item_id(out, 2), id[3]);
	ck_assert_int_eq(item_id(out, 3), id[2]);
	ck_assert_ptr_null(json_object_get(out, "nextCursor"));
	json_decref(out);

	memset(&q, 0, sizeof q);
	ck_assert_int_eq(audit_query_set_param(&q, "actor", "alice", err, sizeof err), 0);
	ck_assert_int_eq(audit_query_set_param(&q, "verb", "cluster_shell_open", err, sizeof err), 0);
	ck_assert_int_eq(audit_query_set_param(&q, "limit", "1", err, sizeof err), 0);
	out = run_query(f.db, &q);
	ck_assert_int_eq(json_integer_value(json_object_get(out, "total")), 2);
	ck_assert_int_eq(json_array_size(json_object_get(out, "items")), 1);
	ck_assert_int_eq(item_id(out, 0), id[3]);
	cursor = json_string_value(json_object_get(out, "nextCursor"));
	ck_assert_ptr_nonnull(cursor);
	ck_assert_int_eq(audit_query_set_param(&q, "cursor", cursor, err, sizeof err), 0);
	json_decref(out);
	/* A row written meanwhile does not shift the next page. */
	write_event(f.db, 9000, "alice", "cluster_shell_open", "success", "prod");
	out = run_query(f.db, &q);
	ck_assert_int_eq(item_id(out, 0), id[1]);
	json_decref(out);

	memset(&q, 0, sizeof q);
	ck_assert_int_eq(audit_query_set_param(&q, "cluster", "prod", err, sizeof err), 0);
	ck_assert_int_eq(audit_query_set_param(&q, "outcome", "success", err, sizeof err), 0);
	q.from_ns = 2000;
	q.to_ns = 5000;
	out = run_query(f.db, &q);
	ck_assert_int_eq(json_integer_value(json_object_get(out, "total")), 1);
	ck_assert_int_eq(item_id(out, 0), id[1]);
	json_decref(out);

	memset(&q, 0, sizeof q);
	q.offset = 5;
	q.limit = 10;
	out = run_query(f.db, &q);
	ck_assert_int_eq(json_integer_value(json_object_get(out, "total")), 7);
	ck_assert_int_eq(json_array_size(json_object_get(out, "items")), 2);
	ck_assert_int_eq(item_id(out, 1), id[0]);
	json_decref(out);
	unit_dbx_close(&f);
}
END_TEST

/* A filtered total is counted up to AUDIT_TOTAL_CAP rows and then said as "at least"; the
 * unfiltered one is the trigger-kept count, exact (rows written by SQL here: the query does
 * not read the chain). */
START_TEST(query_totals_are_capped_when_filtered)
{
	struct unit_dbx f;
	struct audit_query q;
	json_t *out;
	char err[64];

	unit_dbx_open(&f, _i);
	exec_ok(f.db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10005)"
		      " INSERT INTO audit_events (ts_unix_nano, actor_sub, verb, outcome)"
		      " SELECT i, 'bulk', 'login', 'failure' FROM n");
	memset(&q, 0, sizeof q);
	out = run_query(f.db, &q);
	ck_assert_int_eq(json_integer_value(json_object_get(out, "total")), 10005);
	ck_assert(json_is_true(json_object_get(out, "totalExact")));
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(json_object_get(out, "items"), 0),
							    "id")), 10005);
	json_decref(out);
	ck_assert_int_eq(audit_query_set_param(&q, "actor", "bulk", err, sizeof err), 0);
	out = run_query(f.db, &q);
	ck_assert_int_eq(json_integer_value(json_object_get(out, "total")), AUDIT_TOTAL_CAP);
	ck_assert(json_is_false(json_object_get(out, "totalExact")));
	ck_assert_int_eq(json_array_size(json_object_get(out, "items")), AUDIT_DEFAULT_LIMIT);
	json_decref(out);
	unit_dbx_close(&f);
}
END_TEST

static struct audit_refusal refusal(const char *actor)
{
	return (struct audit_refusal){ .verb = "cluster_shell_open", .code = "E_FORBIDDEN",
				       .message = "not allowed", .status = 403, .actor_sub = actor,
				       .cluster = "prod", .cluster_label = "prod", .via = "authorizer" };
}

/* The first refusal of a minute is a row; its repeats are counted; after the minute one
 * summary row gives the count; every refusal is in the metrics. */
START_TEST(refusals_are_aggregated_per_minute)
{
	struct unit_dbx f;
	struct audit_refusal r = refusal("mallory");
	json_t *row = NULL;
	long long summary;

	unit_dbx_open(&f, _i);
	ck_assert_int_eq(audit_refusal_record_dbx(f.db, &r, 6000), 1);
	ck_assert_int_eq(audit_refusal_record_dbx(f.db, &r, 6010), 0);
	ck_assert_int_eq(audit_refusal_record_dbx(f.db, &r, 6059), 0);
	ck_assert_int_eq(query_int(f.db, "SELECT count(*) FROM audit_events", 0), 1);
	/* Nothing to sum up within the minute. */
	ck_assert_int_eq(audit_refusal_flush_dbx(f.db, 6059, 60), 0);
	ck_assert_int_eq(query_int(f.db, "SELECT count(*) FROM audit_events", 0), 1);
	ck_assert_int_eq(audit_refusal_flush_dbx(f.db, 6060, 60), 0);
	ck_assert_int_eq(query_int(f.db, "SELECT count(*) FROM audit_events", 0), 2);
	ck_assert_int_eq(query_int(f.db, "SELECT count(*) FROM audit_refusal_windows WHERE count > 0", 0), 0);
	summary = query_int(f.db, "SELECT max(id) FROM audit_events", 0);
	ck_assert_int_eq(audit_get_dbx(f.db, summary, NULL, &row), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(row, "extra"), "count")), 3);
	ck_assert(json_is_true(json_object_get(json_object_get(row, "extra"), "aggregated")));
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(row, "extra"), "first_id")),
			 summary - 1);
	ck_assert_str_eq(json_string_value(json_object_get(row, "outcome")), "denied");
	ck_assert_str_eq(json_string_value(json_object_get(row, "reason")), "E_FORBIDDEN");
	json_decref(row);
	ck_assert_int_eq(query_int(f.db, "SELECT value FROM metrics_counters WHERE labels ="
					 " '{\"kind\":\"cluster_shell\",\"cluster\":\"prod\",\"code\":\"E_FORBIDDEN\"}'",
				   0), 3);
	/* A flush with nothing left is a no-op. */
	ck_assert_int_eq(audit_refusal_flush_dbx(f.db, 7000, 60), 0);
	assert_intact(f.db, 2);
	unit_dbx_close(&f);
}
END_TEST

/* The same refusal on several replicas at once: one row, one window counting them all. */
#define REFUSERS 6

struct refuser {
	const char *url;
	pthread_barrier_t *start;
	int result;
};

static void *refuse_once(void *arg)
{
	struct refuser *c = arg;
	struct audit_refusal r = refusal("mallory");
	struct dbx *db = NULL;
	char err[512];

	c->result = -2;
	if (dbx_open(c->url, NULL, &db, err, sizeof err) != 0)
		fprintf(stderr, "# refuser: %s\n", err);
	pthread_barrier_wait(c->start);
	if (db)
		c->result = audit_refusal_record_dbx(db, &r, 12000);
	dbx_close(db);
	return NULL;
}

START_TEST(concurrent_refusals_write_one_row_and_count_all)
{
	struct unit_dbx f;
	struct refuser c[REFUSERS];
	pthread_t threads[REFUSERS];
	pthread_barrier_t start;
	int rows = 0;

	unit_dbx_open(&f, _i);
	ck_assert_int_eq(pthread_barrier_init(&start, NULL, REFUSERS), 0);
	for (int i = 0; i < REFUSERS; i++) {
		c[i] = (struct refuser){ .url = f.url, .start = &start };
		ck_assert_int_eq(pthread_create(&threads[i], NULL, refuse_once, &c[i]), 0);
	}
	for (int i = 0; i < REFUSERS; i++) {
		ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
		ck_assert_msg(c[i].result == 0 || c[i].result == 1, "refuser %d: %d", i, c[i].result);
		rows += c[i].result;
	}
	pthread_barrier_destroy(&start);
	ck_assert_int_eq(rows, 1);
	ck_assert_int_eq(query_int(f.db, "SELECT count FROM audit_refusal_windows WHERE count > 0", 0), REFUSERS);
	ck_assert_int_eq(query_int(f.db, "SELECT sum(value) FROM metrics_counters WHERE name ="
					 " 'periscope_shell_refusals_total'", 0), REFUSERS);
	unit_dbx_close(&f);
}
END_TEST

/* The minute's summary is written once when the sweeps of several replicas flush at once. */
struct flusher {
	const char *url;
	pthread_barrier_t *start;
	int result;
};

static void *flush_once(void *arg)
{
	struct flusher *c = arg;
	struct dbx *db = NULL;
	char err[512];

	c->result = -2;
	if (dbx_open(c->url, NULL, &db, err, sizeof err) != 0)
		fprintf(stderr, "# flusher: %s\n", err);
	pthread_barrier_wait(c->start);
	if (db)
		c->result = audit_refusal_flush_dbx(db, 24060, 60);
	dbx_close(db);
	return NULL;
}

START_TEST(concurrent_flushes_write_each_summary_once)
{
	struct unit_dbx f;
	struct flusher c[REFUSERS];
	pthread_t threads[REFUSERS];
	pthread_barrier_t start;
	char actor[16];

	unit_dbx_open(&f, _i);
	for (int a = 0; a < 5; a++) {
		struct audit_refusal r;

		snprintf(actor, sizeof actor, "actor-%d", a);
		r = refusal(actor);
		for (int k = 0; k < 3; k++)
			ck_assert_int_ge(audit_refusal_record_dbx(f.db, &r, 24000 + k), 0);
	}
	ck_assert_int_eq(pthread_barrier_init(&start, NULL, REFUSERS), 0);
	for (int i = 0; i < REFUSERS; i++) {
		c[i] = (struct flusher){ .url = f.url, .start = &start };
		ck_assert_int_eq(pthread_create(&threads[i], NULL, flush_once, &c[i]), 0);
	}
	for (int i = 0; i < REFUSERS; i++) {
		ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
		ck_assert_int_eq(c[i].result, 0);
	}
	pthread_barrier_destroy(&start);
	/* 5 first rows and 5 summaries, not one summary per replica. */
	ck_assert_int_eq(query_int(f.db, "SELECT count(*) FROM audit_events", 0), 10);
	ck_assert_int_eq(query_int(f.db, "SELECT count(*) FROM audit_refusal_windows WHERE count > 0", 0), 0);
	assert_intact(f.db, 10);
	unit_dbx_close(&f);
}
END_TEST

#define DAY_NS (86400LL * 1000000000LL)

/* By age, the oldest run of rows goes and the chain still verifies from the rows kept; a
 * younger row is never deleted for size while retentionDays is set (the budget is then
 * reported reached); without it the oldest rows go until the rest fit. */
START_TEST(retention_deletes_only_what_it_may_and_keeps_the_chain)
{
	struct unit_dbx f;
	struct retention_result r;
	json_t *big;
	char *blob = malloc(60 * 1024);
	long long now = 100 * DAY_NS, bytes, rows, first_kept;

	ck_assert_ptr_nonnull(blob);
	memset(blob, 'x', 60 * 1024 - 1);
	blob[60 * 1024 - 1] = '\0';
	big = json_pack("{s:s}", "transcript", blob);
	unit_dbx_open(&f, _i);
	/* Three old rows, one young one written with an old timestamp after it (it waits), and
	 * young rows. */
	write_event(f.db, now - 10 * DAY_NS, "a", "login", "success", NULL);
	write_event(f.db, now - 9 * DAY_NS, "a", "login", "success", NULL);
	write_event(f.db, now - 8 * DAY_NS, "a", "login", "success", NULL);
	first_kept = write_event(f.db, now - 1 * DAY_NS, "a", "login", "success", NULL);
	write_event(f.db, now - 20 * DAY_NS, "late", "login", "success", NULL);
	for (int i = 0; i < 20; i++) {
		struct audit_event ev = { .ts_ns = now - 3600LL * 1000000000LL + i, .actor_sub = "b",
					  .verb = "cluster_shell_close", .outcome = "success",
					  .extra = big };
		ck_assert_int_eq(audit_write_dbx(f.db, &ev, NULL), 0);
	}
	/* 20 rows of 60 KiB: 1.2 MiB against a 1 MiB budget, all younger than 7 days. */
	ck_assert_int_eq(audit_retention_run_dbx(f.db, f.path, 7, 1, now, &r), 0);
	ck_assert_int_eq(r.deleted_by_age, 3);
	ck_assert_int_eq(r.deleted_by_size, 0);
	ck_assert(r.budget_reached);
	ck_assert_int_eq(query_int(f.db, "SELECT min(id) FROM audit_events", 0), first_kept);
	ck_assert_int_eq(audit_usage_get_dbx(f.db, &bytes, &rows), 0);
	ck_assert_int_eq(rows, 22);
	ck_assert_int_eq(bytes, r.audit_bytes_after);
	ck_assert_int_eq(bytes, query_int(f.db, "SELECT sum(bytes) FROM audit_row_bytes", 0));
	assert_intact(f.db, 22);
	ck_assert_int_eq(query_int(f.db, "SELECT value FROM metrics_counters WHERE labels ="
					 " '{\"cause\":\"age\"}'", 0), 3);

	/* Without an age promise, the oldest rows go until the rest fit in the budget. */
	ck_assert_int_eq(audit_retention_run_dbx(f.db, f.path, 0, 1, now, &r), 0);
	ck_assert_int_gt(r.deleted_by_size, 2);
	ck_assert(!r.budget_reached);
	ck_assert_int_le(r.audit_bytes_after, 1024 * 1024);
	/* The shortest run: one (big) row fewer deleted would not have fit. */
	ck_assert_int_gt(r.audit_bytes_after +
				 query_int(f.db, "SELECT max(bytes) FROM audit_row_bytes", 0),
			 1024 * 1024);
	assert_intact(f.db, 22 - r.deleted_by_size);
	ck_assert_int_eq(audit_usage_get_dbx(f.db, &bytes, &rows), 0);
	ck_assert_int_eq(bytes, query_int(f.db, "SELECT sum(bytes) FROM audit_row_bytes", 0));
	json_decref(big);
	free(blob);
	unit_dbx_close(&f);
}
END_TEST

/* Sign-in attempts: bounded per client, each taken once, a stale one refused. */
START_TEST(login_attempts_are_bounded_and_taken_once)
{
	struct unit_dbx f;
	struct login_attempt a;
	char state[32];

	unit_dbx_open(&f, _i);
	for (int i = 0; i < LOGIN_ATTEMPT_MAX_PER_CLIENT + 4; i++) {
		snprintf(state, sizeof state, "state-%02d", i);
		ck_assert_int_eq(login_attempt_put_dbx(f.db, "10.0.0.1", state, "nonce", "verifier",
						       "/clusters", 1000), 0);
	}
	ck_assert_int_eq(login_attempt_put_dbx(f.db, "10.0.0.2", "other", "n2", "v2", NULL, 1000), 0);
	ck_assert_int_eq(query_int(f.db, "SELECT count(*) FROM oidc_logins", 0),
			 LOGIN_ATTEMPT_MAX_PER_CLIENT + 1);
	/* The oldest four went (same second: in the order they were made). */
	ck_assert_int_eq(login_attempt_take_dbx(f.db, "state-03", 1000, &a), 0);
	ck_assert_int_eq(login_attempt_take_dbx(f.db, "state-04", 1000, &a), 1);
	ck_assert_str_eq(a.nonce, "nonce");
	ck_assert_str_eq(a.code_verifier, "verifier");
	ck_assert_str_eq(a.return_to, "/clusters");
	login_attempt_clear(&a);
	ck_assert_int_eq(login_attempt_take_dbx(f.db, "state-04", 1000, &a), 0);
	ck_assert_int_eq(login_attempt_take_dbx(f.db, "other", 1000, &a), 1);
	ck_assert_str_eq(a.return_to, "/");
	login_attempt_clear(&a);
	/* Stale: refused, and gone. */
	ck_assert_int_eq(login_attempt_take_dbx(f.db, "state-05", 1000 + LOGIN_ATTEMPT_MAX_AGE_S + 1, &a), 0);
	ck_assert_int_eq(login_attempt_take_dbx(f.db, "state-05", 1000, &a), 0);
	/* A put later drops the expired ones. */
	ck_assert_int_eq(login_attempt_put_dbx(f.db, "10.0.0.3", "late", "n", "v", "/", 1000 + LOGIN_ATTEMPT_MAX_AGE_S + 1), 0);
	ck_assert_int_eq(query_int(f.db, "SELECT count(*) FROM oidc_logins", 0), 1);
	unit_dbx_close(&f);
}
END_TEST

/* The metrics trigger writes the same label text as SQLite's json_object on both engines,
 * escapes included, and /metrics renders the same series. */
START_TEST(metrics_trigger_labels_are_sqlites_json)
{
	static const char *const want[][3] = {
		{ "periscope_bridges_lost_total", "{\"kind\":\"node_shell\",\"cluster\":\"q\\\"uo\\\\te \xc3\xa9\\n\"}", "1" },
		{ "periscope_shell_closes_total", "{\"kind\":\"cluster_shell\",\"cluster\":\"prod\",\"reason\":\"ended\"}", "1" },
		{ "periscope_shell_closes_total", "{\"kind\":\"node_shell\",\"cluster\":\"q\\\"uo\\\\te \xc3\xa9\\n\",\"reason\":\"lost\"}", "1" },
		{ "periscope_shell_opens_total", "{\"kind\":\"cluster_shell\",\"cluster\":\"prod\"}", "2" },
		{ "periscope_shell_opens_total", "{\"kind\":\"node_shell\",\"cluster\":\"\"}", "1" },
		{ "periscope_signins_total", "{\"outcome\":\"success\"}", "1" },
	};
	struct cluster_config clusters[1] = { { .name = "prod" } };
	struct config cfg = { .clusters = clusters, .clusters_count = 1 };
	struct metrics_extra extra = { .ready = -1 };
	struct unit_dbx f;
	struct dbx_stmt *st = NULL;
	struct audit_event close_lost = { .ts_ns = 5, .actor_sub = "a", .verb = "ssm_session_close",
					  .outcome = "success", .cluster = "q\"uo\\te \xc3\xa9\n",
					  .reason = "lost" };
	struct audit_event close_ended = { .ts_ns = 6, .actor_sub = "a", .verb = "cluster_shell_close",
					   .outcome = "success", .cluster = "prod", .reason = "ended" };
	struct buf b;
	size_t n = 0;

	unit_dbx_open(&f, _i);
	write_event(f.db, 1, "a", "login", "success", NULL);
	write_event(f.db, 2, "a", "login", "failure", NULL);
	write_event(f.db, 3, "a", "cluster_shell_open", "success", "prod");
	write_event(f.db, 3, "a", "cluster_shell_open", "success", "prod");
	write_event(f.db, 4, "a", "ssm_session_open", "success", NULL);
	write_event(f.db, 4, "a", "ssm_session_open", "denied", "prod");
	ck_assert_int_eq(audit_write_dbx(f.db, &close_lost, NULL), 0);
	ck_assert_int_eq(audit_write_dbx(f.db, &close_ended, NULL), 0);

	ck_assert_int_eq(dbx_prepare(f.db, dbx_sql(f.db, "SELECT name, labels, value FROM metrics_counters ORDER BY name, labels",
						   "SELECT name, labels, value FROM metrics_counters ORDER BY name COLLATE \"C\", labels COLLATE \"C\""),
				     &st), 0);
	while (dbx_step(st) == DBX_ROW) {
		ck_assert_uint_lt(n, sizeof want / sizeof want[0]);
		ck_assert_str_eq(dbx_column_text(st, 0), want[n][0]);
		ck_assert_str_eq(dbx_column_text(st, 1), want[n][1]);
		ck_assert_str_eq(dbx_column_text(st, 2), want[n][2]);
		n++;
	}
	dbx_finalize(st);
	ck_assert_uint_eq(n, sizeof want / sizeof want[0]);

	ck_assert_int_eq(metrics_counter_add_dbx(f.db, METRIC_RETENTION_DELETED, "{\"cause\":\"age\"}", 4), 0);
	ck_assert_int_eq(metrics_counter_add_dbx(f.db, METRIC_RETENTION_DELETED, "{\"cause\":\"age\"}", 3), 0);
	ck_assert_int_eq(metrics_observe_ms_dbx(f.db, METRIC_OPEN_SECONDS, "{\"kind\":\"node_shell\",\"stage\":\"hello\"}", 300), 0);
	ck_assert_int_eq(metrics_observe_ms_dbx(f.db, METRIC_OPEN_SECONDS, "{\"kind\":\"node_shell\",\"stage\":\"hello\"}", 7000), 0);
	buf_init(&b, 1 << 20);
	ck_assert_int_eq(metrics_render_dbx(f.db, &cfg, &extra, &b), 0);
	ck_assert_ptr_nonnull(strstr(b.data, "\nperiscope_shell_opens_total{kind=\"cluster_shell\",cluster=\"prod\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "\nperiscope_shell_opens_total{kind=\"node_shell\",cluster=\"prod\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "\nperiscope_signins_total{outcome=\"success\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "\nperiscope_audit_retention_deleted_total{cause=\"age\"} 7\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "\nperiscope_shell_open_seconds_bucket{kind=\"node_shell\",stage=\"hello\",le=\"10\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "\nperiscope_shell_open_seconds_sum{kind=\"node_shell\",stage=\"hello\"} 7.3\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "\nperiscope_audit_rows 8\n"));
	buf_free(&b);
	unit_dbx_close(&f);
}
END_TEST

/* Retention on one replica while writers on others append: it deletes the old rows only,
 * every young row survives, and the chain verifies. */
struct appender {
	const char *url;
	pthread_barrier_t *start;
	long long ts_ns;
	int written;
};

static void *append_young(void *arg)
{
	struct appender *a = arg;
	struct dbx *db = NULL;
	char err[512];

	if (dbx_open(a->url, NULL, &db, err, sizeof err) != 0) {
		fprintf(stderr, "# appender: %s\n", err);
		pthread_barrier_wait(a->start);
		return NULL;
	}
	pthread_barrier_wait(a->start);
	for (int i = 0; i < ROWS_EACH; i++) {
		struct audit_event ev = { .ts_ns = a->ts_ns, .actor_sub = "young", .verb = "login",
					  .outcome = "success" };

		if (audit_write_dbx(db, &ev, NULL) == 0)
			a->written++;
	}
	dbx_close(db);
	return NULL;
}

START_TEST(retention_beside_concurrent_writers_keeps_every_young_row)
{
	struct unit_dbx f;
	struct appender a[4];
	pthread_t threads[4];
	struct retention_result r;
	pthread_barrier_t start;
	long long now = 100 * DAY_NS, deleted = 0;

	unit_dbx_open(&f, _i);
	/* The writers and this thread (the retention) start together. */
	ck_assert_int_eq(pthread_barrier_init(&start, NULL, 5), 0);
	for (int i = 0; i < 60; i++)
		write_event(f.db, now - 30 * DAY_NS + i, "old", "login", "success", NULL);
	for (int i = 0; i < 4; i++) {
		a[i] = (struct appender){ .url = f.url, .start = &start,
					  .ts_ns = now - 60LL * 1000000000LL };
		ck_assert_int_eq(pthread_create(&threads[i], NULL, append_young, &a[i]), 0);
	}
	pthread_barrier_wait(&start);
	/* Passes while they append; each deletes at most the old rows that are left. */
	for (int pass = 0; pass < 5; pass++) {
		ck_assert_int_eq(audit_retention_run_dbx(f.db, f.path, 7, 0, now, &r), 0);
		deleted += r.deleted_by_age;
	}
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
		ck_assert_int_eq(a[i].written, ROWS_EACH);
	}
	pthread_barrier_destroy(&start);
	ck_assert_int_eq(audit_retention_run_dbx(f.db, f.path, 7, 0, now, &r), 0);
	deleted += r.deleted_by_age;
	ck_assert_int_eq(deleted, 60);
	ck_assert_int_eq(query_int(f.db, "SELECT count(*) FROM audit_events WHERE actor_sub = 'young'", 0),
			 4 * ROWS_EACH);
	ck_assert_int_eq(query_int(f.db, "SELECT count(*) FROM audit_events", 0), 4 * ROWS_EACH);
	assert_intact(f.db, 4 * ROWS_EACH);
	unit_dbx_close(&f);
}
END_TEST

/* Sign-ins started on several replicas at once from one client: the bound still holds. */
#define STARTERS 8

struct starter {
	const char *url;
	pthread_barrier_t *start;
	int n;
	int failed;
	long long most_seen;     /* the most attempts seen stored right after a put */
};

static long long count_attempts(struct dbx *db)
{
	struct dbx_stmt *st = NULL;
	long long n = -1;

	if (dbx_prepare(db, "SELECT count(*) FROM oidc_logins", &st) == 0 && dbx_step(st) == DBX_ROW)
		n = dbx_column_int64(st, 0);
	dbx_finalize(st);
	return n;
}

static void *start_sign_ins(void *arg)
{
	struct starter *s = arg;
	struct dbx *db = NULL;
	char err[512], state[32];

	if (dbx_open(s->url, NULL, &db, err, sizeof err) != 0)
		fprintf(stderr, "# starter: %s\n", err);
	pthread_barrier_wait(s->start);
	for (int i = 0; db && i < 5; i++) {
		long long n;

		snprintf(state, sizeof state, "s-%d-%d", s->n, i);
		if (login_attempt_put_dbx(db, "10.9.9.9", state, "n", "v", "/", 2000) != 0)
			s->failed++;
		n = count_attempts(db);
		if (n > s->most_seen)
			s->most_seen = n;
	}
	if (!db)
		s->failed = 5;
	dbx_close(db);
	return NULL;
}

START_TEST(login_attempt_bound_holds_across_connections)
{
	struct unit_dbx f;
	struct starter s[STARTERS];
	pthread_t threads[STARTERS];
	pthread_barrier_t start;

	unit_dbx_open(&f, _i);
	ck_assert_int_eq(pthread_barrier_init(&start, NULL, STARTERS), 0);
	for (int i = 0; i < STARTERS; i++) {
		s[i] = (struct starter){ .url = f.url, .start = &start, .n = i };
		ck_assert_int_eq(pthread_create(&threads[i], NULL, start_sign_ins, &s[i]), 0);
	}
	for (int i = 0; i < STARTERS; i++) {
		ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
		ck_assert_int_eq(s[i].failed, 0);
		/* Never more than the bound, at any moment a replica looked. */
		ck_assert_int_le(s[i].most_seen, LOGIN_ATTEMPT_MAX_PER_CLIENT);
	}
	pthread_barrier_destroy(&start);
	/* 40 attempts from one client: the newest 16 are kept, never more. */
	ck_assert_int_eq(query_int(f.db, "SELECT count(*) FROM oidc_logins", 0),
			 LOGIN_ATTEMPT_MAX_PER_CLIENT);
	unit_dbx_close(&f);
}
END_TEST

/* The same events give the same chain on both engines (the canonical form is read back in
 * the same text), so a chain copied from SQLite to PostgreSQL still verifies. */
START_TEST(both_engines_hash_the_same_rows_alike)
{
	struct unit_dbx lite, pg;
	struct audit_verify a, b;
	json_t *extra = json_pack("{s:s, s:i, s:s}", "session_id", "s-\xc3\xa9", "bytes_in", 12,
				  "note", "tab\there \"quoted\"");

	unit_dbx_open(&lite, UNIT_SQLITE);
	unit_dbx_open(&pg, UNIT_POSTGRES);
	for (int e = 0; e < 2; e++) {
		struct dbx *db = e == 0 ? lite.db : pg.db;
		struct audit_event ev = { .ts_ns = 1765012345123456789LL, .request_id = "r-1",
					  .route = "/api/x", .actor_sub = "j\xc3\xb6rg",
					  .actor_groups_json = "[\"a\",\"b\"]", .verb = "cluster_shell_close",
					  .outcome = "success", .cluster = "prod", .res_name = "pod",
					  .reason = "ended", .extra = extra };

		ck_assert_int_eq(audit_write_dbx(db, &ev, NULL), 0);
		write_event(db, 42, "anonymous", "login", "failure", NULL);
	}
	ck_assert_int_eq(audit_chain_verify_dbx(lite.db, &a), 0);
	ck_assert_int_eq(audit_chain_verify_dbx(pg.db, &b), 0);
	ck_assert(a.intact && b.intact);
	ck_assert_int_eq(a.head_id, b.head_id);
	ck_assert_str_eq(a.head_hash, b.head_hash);
	json_decref(extra);
	unit_dbx_close(&pg);
	unit_dbx_close(&lite);
}
END_TEST

static Suite *audit_pg_suite(int engines)
{
	Suite *s = suite_create("audit_pg");
	TCase *tc = tcase_create("engines");

	/* PostgreSQL's first CREATE DATABASE can take seconds on a loaded machine. */
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, rows_are_chained_measured_and_verified, 0, engines);
	tcase_add_loop_test(tc, concurrent_writers_on_several_connections_keep_one_chain, 0, engines);
	tcase_add_loop_test(tc, query_filters_totals_and_cursor, 0, engines);
	tcase_add_loop_test(tc, query_totals_are_capped_when_filtered, 0, engines);
	tcase_add_loop_test(tc, refusals_are_aggregated_per_minute, 0, engines);
	tcase_add_loop_test(tc, concurrent_refusals_write_one_row_and_count_all, 0, engines);
	tcase_add_loop_test(tc, concurrent_flushes_write_each_summary_once, 0, engines);
	tcase_add_loop_test(tc, retention_deletes_only_what_it_may_and_keeps_the_chain, 0, engines);
	tcase_add_loop_test(tc, login_attempts_are_bounded_and_taken_once, 0, engines);
	tcase_add_loop_test(tc, metrics_trigger_labels_are_sqlites_json, 0, engines);
	tcase_add_loop_test(tc, retention_beside_concurrent_writers_keeps_every_young_row, 0, engines);
	tcase_add_loop_test(tc, login_attempt_bound_holds_across_connections, 0, engines);
	if (engines == 2)
		tcase_add_test(tc, both_engines_hash_the_same_rows_alike);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_dbx_main(audit_pg_suite);
}
