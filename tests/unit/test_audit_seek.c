/* GET /api/audit's deep offset (store/audit_seek.h, sql/015_audit_ts_buckets.sql) on both
 * engines: every page from AUDIT_SEEK_MIN_OFFSET to past the end is the page the order
 * (timestamp, then id, newest first) defines, across what makes ids a poor guide to
 * positions: timestamps that go back while ids go up (writers take their timestamps
 * before the write lock), ties, bursts inside one bucket, timestamps on every bucket
 * boundary, ids that skip (rows deleted in the middle; on PostgreSQL, identity values a
 * rolled-back insert consumed), retention, and writers on several connections at once.
 * The expected pages come from the test's own list of the rows it wrote, sorted here. */
#include <pthread.h>

#include "store/audit.h"
#include "store/audit_query.h"
#include "store/audit_retention.h"
#include "store/audit_seek.h"
#include "store/dbx.h"
#include "unit.h"
#include "unit_dbx.h"

#define NS_PER_DAY 86400000000000LL
#define BASE_NS 1767225600000000000LL /* 2026-01-01T00:00:00Z */
#define PAGE 5

/* A row as the test wrote it: its timestamp and the order it was written in (ids grow
 * with it on one connection), named by request id. */
struct row {
	long long ts;
	long long seq;
	char name[24];
	bool gone;
};

/* Newest first: timestamp, then write order (the id), both descending. */
static int newest_first(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? 1 : -1;
	return (x->seq < y->seq) - (x->seq > y->seq);
}

/* The timestamps: 75 minutes of rows 3 s apart; a burst of 1,500 rows sharing 10
 * timestamps inside one 69 s bucket; 1,500 rows going back in time 60 s each while their
 * ids go up, over 25 hours (across a 19.5 h bucket's edge); then two rows on each side of
 * an edge of every span, the last ones in another 2.3-year bucket. */
#define OLD_RUN 1500
#define BURST 1500
#define BACKWARDS 1500
#define N_BOUNDARY 12
#define N_ROWS (OLD_RUN + BURST + BACKWARDS + N_BOUNDARY)

static long long boundary_ts(int k)
{
	static const int spans[] = { 36, 46, 56 };
	int span = spans[k / 4];
	long long edge = ((BASE_NS >> span) + 1) << span;

	/* Two rows just before the edge, two on it (ties). */
	return k % 4 < 2 ? edge - 1 : edge;
}

static long long ts_of(int i)
{
	if (i < OLD_RUN)
		return BASE_NS + i * 3000000000LL;
	if (i < OLD_RUN + BURST)
		return BASE_NS + 2 * NS_PER_DAY + (i % 10) * 1000;
	if (i < OLD_RUN + BURST + BACKWARDS)
		return BASE_NS + 70 * NS_PER_DAY - (long long)(i - OLD_RUN - BURST) * 60000000000LL;
	return boundary_ts(i - OLD_RUN - BURST - BACKWARDS);
}

/* Writes the rows through the product's writer (the hash chain stays whole, retention can
 * run), in one transaction. Rows with i % 7 == 3 go to cluster "drop". */
static void write_rows(struct dbx *db, struct row *rows)
{
	ck_assert_int_eq(dbx_begin_write(db), 0);
	for (int i = 0; i < N_ROWS; i++) {
		struct audit_event ev = { .actor_sub = "alice", .verb = "clusters.list",
					  .outcome = "success" };
		rows[i].ts = ev.ts_ns = ts_of(i);
		rows[i].seq = i;
		snprintf(rows[i].name, sizeof rows[i].name, "r-%d", i);
		ev.request_id = rows[i].name;
		ev.cluster = i % 7 == 3 ? "drop" : "keep";
		ck_assert_int_eq(audit_write_dbx(db, &ev, NULL), 0);
	}
	ck_assert_int_eq(dbx_commit(db), 0);
}

/* The rows still there, newest first. */
static int expected_order(const struct row *rows, int n, struct row *out)
{
	int live = 0;

	for (int i = 0; i < n; i++)
		if (!rows[i].gone)
			out[live++] = rows[i];
	qsort(out, (size_t)live, sizeof *out, newest_first);
	return live;
}

/* The page at offset: PAGE rows from position offset of the expected order, the whole
 * log's total, and a cursor only on a full page. */
static void assert_page(struct dbx *db, const struct row *order, int live, int offset)
{
	struct audit_query q = { .limit = PAGE, .offset = offset };
	json_t *out = NULL, *items;
	char err[256];
	int want = live - offset < 0 ? 0 : (live - offset > PAGE ? PAGE : live - offset);

	ck_assert_msg(audit_query_run_dbx(db, &q, &out, err, sizeof err) == 0, "%s", err);
	items = json_object_get(out, "items");
	ck_assert_int_eq(json_integer_value(json_object_get(out, "total")), live);
	ck_assert_msg((int)json_array_size(items) == want, "offset %d: %zu rows, not %d", offset,
		      json_array_size(items), want);
	for (int k = 0; k < want; k++) {
		const char *got = json_string_value(
			json_object_get(json_array_get(items, (size_t)k), "requestId"));
		ck_assert_msg(got && strcmp(got, order[offset + k].name) == 0,
			      "offset %d, row %d: %s, not %s", offset, k, got ? got : "(none)",
			      order[offset + k].name);
	}
	ck_assert_int_eq(json_object_get(out, "nextCursor") != NULL, want == PAGE);
	json_decref(out);
}

/* The seek itself: the row at offset lies in the 69 s bucket whose last nanosecond is
 * ts_max, and rest rows of the log are newer than it and at or before ts_max. */
static void assert_seek(struct dbx *db, const struct row *order, int live, int offset)
{
	long long ts_max = 0, rest = 0, want_max, newer = 0;

	if (offset >= live) {
		ck_assert_int_eq(audit_seek_offset(db, offset, &ts_max, &rest), AUDIT_SEEK_PAST_END);
		return;
	}
	ck_assert_int_eq(audit_seek_offset(db, offset, &ts_max, &rest), AUDIT_SEEK_FOUND);
	want_max = order[offset].ts | ((1LL << 36) - 1);
	for (int k = 0; k < offset; k++)
		newer += order[k].ts > want_max;
	ck_assert_int_eq(ts_max, want_max);
	ck_assert_int_eq(rest, offset - newer);
}

static void assert_every_deep_page(struct dbx *db, const struct row *rows, int n)
{
	struct row *order = calloc((size_t)n, sizeof *order);
	int live;

	ck_assert_ptr_nonnull(order);
	live = expected_order(rows, n, order);
	ck_assert_int_gt(live, AUDIT_SEEK_MIN_OFFSET + 500);
	for (int offset = AUDIT_SEEK_MIN_OFFSET - 1; offset <= live + 1; offset++) {
		assert_page(db, order, live, offset);
		assert_seek(db, order, live, offset);
	}
	/* Far past the end: an empty page, not an error. */
	assert_page(db, order, live, 1000000000);
	free(order);
}

/* The bucket counts are what counting the rows gives, and no empty bucket is kept. */
static void assert_buckets_match_rows(struct dbx *db)
{
	static const char diff[] =
		"SELECT count(*) FROM ("
		" SELECT span, bucket, rows FROM audit_ts_buckets"
		" EXCEPT"
		" SELECT s.span, e.ts_unix_nano >> s.span, count(*) FROM audit_events e,"
		"  (SELECT 36 AS span UNION ALL SELECT 46 UNION ALL SELECT 56) s GROUP BY 1, 2"
		") AS extra";
	static const char missing[] =
		"SELECT count(*) FROM ("
		" SELECT s.span, e.ts_unix_nano >> s.span, count(*) FROM audit_events e,"
		"  (SELECT 36 AS span UNION ALL SELECT 46 UNION ALL SELECT 56) s GROUP BY 1, 2"
		" EXCEPT"
		" SELECT span, bucket, rows FROM audit_ts_buckets"
		") AS absent";

	ck_assert_int_eq(unit_dbx_int(db, diff), 0);
	ck_assert_int_eq(unit_dbx_int(db, missing), 0);
	ck_assert_int_eq(unit_dbx_int(db, "SELECT count(*) FROM audit_ts_buckets WHERE rows <= 0"), 0);
}

START_TEST(deep_offsets_follow_timestamps_not_ids)
{
	struct unit_dbx f;
	struct row *rows = calloc(N_ROWS, sizeof *rows);
	struct retention_result rr;

	ck_assert_ptr_nonnull(rows);
	unit_dbx_open(&f, _i);
	write_rows(f.db, rows);
	assert_buckets_match_rows(f.db);
	assert_every_deep_page(f.db, rows, N_ROWS);

	/* Ids that skip: rows deleted in the middle, and on PostgreSQL identity values
	 * consumed by an insert rolled back. */
	unit_dbx_exec(f.db, "DELETE FROM audit_events WHERE cluster = 'drop'");
	for (int i = 0; i < N_ROWS; i++)
		rows[i].gone = i % 7 == 3;
	ck_assert_int_eq(dbx_begin_write(f.db), 0);
	unit_dbx_exec(f.db, "INSERT INTO audit_events (ts_unix_nano, actor_sub, verb, outcome)"
			    " VALUES (1, 'x', 'x', 'x'), (2, 'x', 'x', 'x')");
	dbx_rollback(f.db);
	assert_buckets_match_rows(f.db);
	assert_every_deep_page(f.db, rows, N_ROWS);

	/* Retention by age deletes the oldest run of ids whose rows are older than the
	 * cutoff (store/audit_retention.h): here the first hour's rows, up to the burst. */
	ck_assert_int_eq(audit_retention_run_dbx(f.db, f.path, 1, 0, BASE_NS + 2 * NS_PER_DAY, &rr),
			 0);
	ck_assert_int_eq(rr.deleted_by_age, OLD_RUN - (OLD_RUN + 3) / 7);
	for (int i = 0; i < OLD_RUN; i++)
		rows[i].gone = true;
	assert_buckets_match_rows(f.db);
	assert_every_deep_page(f.db, rows, N_ROWS);

	/* A timestamp that moved (no periscope path does that) moves its row's bucket. */
	unit_dbx_exec(f.db, "UPDATE audit_events SET ts_unix_nano = ts_unix_nano + 86400000000000"
			    " WHERE request_id = 'r-1600'");
	rows[1600].ts += NS_PER_DAY;
	assert_buckets_match_rows(f.db);
	assert_every_deep_page(f.db, rows, N_ROWS);

	unit_dbx_close(&f);
	free(rows);
}
END_TEST

/* Writers on two connections at once, each taking its timestamp before the write lock as
 * the product does: the ids interleave and some rows are newer than rows after them. */
#define WRITERS 2
#define WRITES_EACH 1300

struct writer {
	const char *url;
	pthread_barrier_t *start;
	int index;
	int written;
};

static void *write_concurrently(void *arg)
{
	struct writer *w = arg;
	struct dbx *db = NULL;
	char err[512], name[32];

	if (dbx_open(w->url, NULL, &db, err, sizeof err) != 0)
		return NULL;
	pthread_barrier_wait(w->start);
	for (int i = 0; i < WRITES_EACH; i++) {
		struct audit_event ev = { .actor_sub = "bob", .verb = "clusters.list",
					  .outcome = "success", .request_id = name };
		snprintf(name, sizeof name, "w%d-%d", w->index, i);
		if (audit_write_dbx(db, &ev, NULL) == 0)
			w->written++;
	}
	dbx_close(db);
	return NULL;
}

START_TEST(deep_offsets_hold_after_concurrent_writers)
{
	struct unit_dbx f;
	pthread_barrier_t start;
	pthread_t threads[WRITERS];
	struct writer writers[WRITERS];
	struct row *rows = calloc(WRITERS * WRITES_EACH, sizeof *rows);
	struct dbx_stmt *st = NULL;
	int n = 0;

	ck_assert_ptr_nonnull(rows);
	unit_dbx_open(&f, _i);
	ck_assert_int_eq(pthread_barrier_init(&start, NULL, WRITERS), 0);
	for (int t = 0; t < WRITERS; t++) {
		writers[t] = (struct writer){ .url = f.url, .start = &start, .index = t };
		ck_assert_int_eq(pthread_create(&threads[t], NULL, write_concurrently, &writers[t]), 0);
	}
	for (int t = 0; t < WRITERS; t++) {
		pthread_join(threads[t], NULL);
		ck_assert_int_eq(writers[t].written, WRITES_EACH);
	}
	pthread_barrier_destroy(&start);
	assert_buckets_match_rows(f.db);
	/* Which timestamp and id each row got is the writers' race: read them back, and
	 * let the test's own sort say where each row belongs. */
	ck_assert_int_eq(dbx_prepare(f.db, "SELECT ts_unix_nano, id, request_id FROM audit_events",
				     &st), 0);
	while (dbx_step(st) == DBX_ROW && n < WRITERS * WRITES_EACH) {
		rows[n].ts = dbx_column_int64(st, 0);
		rows[n].seq = dbx_column_int64(st, 1);
		snprintf(rows[n].name, sizeof rows[n].name, "%s", dbx_column_text(st, 2));
		n++;
	}
	dbx_finalize(st);
	ck_assert_int_eq(n, WRITERS * WRITES_EACH);
	assert_every_deep_page(f.db, rows, n);
	unit_dbx_close(&f);
	free(rows);
}
END_TEST

static Suite *audit_seek_suite(int engines)
{
	Suite *s = suite_create("audit_seek");
	TCase *tc = tcase_create("engines");

	/* Thousands of pages on each engine, and PostgreSQL's first CREATE DATABASE can take
	 * seconds on a loaded machine. */
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, deep_offsets_follow_timestamps_not_ids, 0, engines);
	tcase_add_loop_test(tc, deep_offsets_hold_after_concurrent_writers, 0, engines);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_dbx_main(audit_seek_suite);
}
