/* Benchmark: GET /api/audit's query (audit_query_run, exactly what the handler runs) on a
 * large audit table next to the same query on a small one, in the same run. Prints, per
 * filter combination, p50 and p99 over the repetitions at both sizes and their ratio.
 *
 *   audit-query-bench DIR [ROWS=1000000] [REPS=100]
 *
 * DIR keeps the two databases between runs (built once; about 40 s for a million rows),
 * so a second run measures only the queries. Not a test: nothing here passes or fails.
 *
 * With PERISCOPE_BENCH_PG set to a libpq connection string ("host=... user=..."), the same
 * on PostgreSQL (audit_query_run_dbx, sql/pg/009's indexes) instead: the two databases are
 * audit_bench_big and audit_bench_small on that server, which must exist (createdb); DIR
 * is then not used. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "store/audit_query.h"
#include "store/db.h"
#include "store/dbx.h"

#define SMALL_ROWS 1000
#define BASE_TS_NS 1767225600000000000LL /* 2026-01-01T00:00:00Z */
#define STEP_NS 2600000000LL             /* 2.6 s apart: a million rows span a month */

/* Rows like a busy deployment's: 50 operators, 8 verbs, 5 clusters, a session every 20
 * rows, 1 in 20 denied and 1 in 10 failed. Through SQL, not the product's writer: the
 * hash chain is beside the point here and would take minutes to build. */
static const char FILL_SQL[] =
	"WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1) "
	"INSERT INTO audit_events (ts_unix_nano, request_id, route, actor_sub, actor_email, "
	"verb, outcome, cluster, reason, session_id, extra) "
	"SELECT ?2 + i * ?3, 'req-' || i, '/api/clusters/c' || (i % 5) || '/shell', "
	"'user-' || (i % 50), 'user-' || (i % 50) || '@example.com', "
	"CASE (i * 7) % 8 WHEN 0 THEN 'cluster_shell.open' WHEN 1 THEN 'cluster_shell.close' "
	"WHEN 2 THEN 'node_shell.open' WHEN 3 THEN 'node_shell.close' WHEN 4 THEN 'auth.login' "
	"WHEN 5 THEN 'auth.logout' WHEN 6 THEN 'nodes.list' ELSE 'clusters.list' END, "
	"CASE WHEN i % 20 = 0 THEN 'denied' WHEN i % 10 = 1 THEN 'failure' ELSE 'success' END, "
	"'c' || (i % 5), CASE WHEN i % 20 = 0 THEN 'E_FORBIDDEN' END, 's-' || (i / 20), "
	"'{\"bytes\":' || (i % 4096) || '}' FROM n";

struct scenario {
	const char *name;
	struct audit_query q;
	double cursor_at;  /* > 0: start from a cursor this far down the table (0..1) */
	double offset_at;  /* > 0: an offset this far down the rows the filters match */
	double share;      /* the share of the table the filters match (FILL_SQL); 0 = all */
};

static double clock_ms(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static long long row_count(struct dbx *db)
{
	struct dbx_stmt *st = NULL;
	long long n = -1;

	if (dbx_prepare(db, "SELECT count(*) FROM audit_events", &st) == 0 && dbx_step(st) == DBX_ROW)
		n = dbx_column_int64(st, 0);
	dbx_finalize(st);
	return n;
}

/* Opens DIR/NAME (or, with PERISCOPE_BENCH_PG, the database audit_bench_NAME there), filling
 * it with rows rows unless it already holds exactly that many. */
static struct dbx *open_filled(const char *dir, const char *name, long long rows)
{
	const char *pg = getenv("PERISCOPE_BENCH_PG");
	char url[4096], err[256];
	struct dbx *db = NULL;
	struct dbx_stmt *st = NULL;

	if (pg && *pg)
		snprintf(url, sizeof url, "%s dbname=audit_bench_%s", pg, name);
	else
		snprintf(url, sizeof url, "sqlite:%s/audit-%s.db", dir, name);
	if (dbx_open(url, NULL, &db, err, sizeof err) != 0) {
		fprintf(stderr, "%s: %s\n", url, err);
		return NULL;
	}
	if (row_count(db) == rows)
		return db;
	fprintf(stderr, "filling %s with %lld rows\n", url, rows);
	if (dbx_exec(db, "DELETE FROM audit_events") != 0 || dbx_begin_write(db) != 0 ||
	    dbx_prepare(db, FILL_SQL, &st) != 0 || dbx_bind_int64(st, 1, rows) != 0 ||
	    dbx_bind_int64(st, 2, BASE_TS_NS) != 0 || dbx_bind_int64(st, 3, STEP_NS) != 0 ||
	    dbx_step(st) != DBX_DONE || dbx_commit(db) != 0 ||
	    /* PostgreSQL: VACUUM sets the visibility map, without which an index-only scan
	     * visits the table anyway (autovacuum does it on a live server). */
	    dbx_exec(db, dbx_sql(db, "ANALYZE", "VACUUM ANALYZE audit_events")) != 0)
		goto fail;
	dbx_finalize(st);
	return db;
fail:
	fprintf(stderr, "%s: %s\n", url, dbx_errmsg(db));
	dbx_finalize(st);
	dbx_rollback(db);
	dbx_close(db);
	return NULL;
}

struct timing {
	double p50, p99;         /* wall clock, ms */
	double cpu50, cpu99;     /* this thread's CPU (SQLite runs in it), ms */
};

static void percentiles(double *t, int reps, double *p50, double *p99)
{
	qsort(t, (size_t)reps, sizeof *t, cmp_double);
	*p50 = t[reps / 2];
	*p99 = t[(reps * 99 + 99) / 100 - 1];
}

/* Runs one scenario reps times. -1 when a query fails. The CPU time is what a loaded
 * machine does not change much: the wall clock there includes waiting for a core. */
static int measure(struct dbx *db, long long rows, const struct scenario *sc, int reps,
		   struct timing *out)
{
	struct audit_query q = sc->q;
	double *t = calloc((size_t)reps, sizeof *t), *c = calloc((size_t)reps, sizeof *c);
	char err[256];
	int rc = -1;

	if (!t || !c)
		goto done;
	if (sc->cursor_at > 0) {
		long long i = (long long)((double)rows * (1.0 - sc->cursor_at));
		q.has_cursor = true;
		q.cursor_ts_ns = BASE_TS_NS + i * STEP_NS;
		q.cursor_id = i + 1;
	}
	if (sc->offset_at > 0)
		q.offset = (int)((double)rows * (sc->share > 0 ? sc->share : 1.0) * sc->offset_at);
	for (int r = 0; r < reps; r++) {
		json_t *res = NULL;
		double start = clock_ms(CLOCK_MONOTONIC), cpu = clock_ms(CLOCK_THREAD_CPUTIME_ID);
		if (audit_query_run_dbx(db, &q, &res, err, sizeof err) != 0) {
			fprintf(stderr, "%s: %s\n", sc->name, err);
			goto done;
		}
		t[r] = clock_ms(CLOCK_MONOTONIC) - start;
		c[r] = clock_ms(CLOCK_THREAD_CPUTIME_ID) - cpu;
		json_decref(res);
	}
	percentiles(t, reps, &out->p50, &out->p99);
	percentiles(c, reps, &out->cpu50, &out->cpu99);
	rc = 0;
done:
	free(t);
	free(c);
	return rc;
}

int main(int argc, char **argv)
{
	const struct scenario scenarios[] = {
		{ "newest page", { 0 }, 0, 0, 0 },
		{ "actor", { .actor = "user-7" }, 0, 0, 0 },
		{ "verb", { .verb = "node_shell.open" }, 0, 0, 0 },
		{ "verb+actor", { .verb = "cluster_shell.close", .actor = "user-8" }, 0, 0, 0 },
		{ "verb+actor, none match", { .verb = "cluster_shell.open", .actor = "user-7" }, 0, 0, 0 },
		{ "outcome=denied", { .outcome = "denied" }, 0, 0, 0 },
		{ "cluster+from/to",
		  { .cluster = "c3", .from_ns = BASE_TS_NS + 100000 * STEP_NS,
		    .to_ns = BASE_TS_NS + 200000 * STEP_NS },
		  0, 0, 0 },
		{ "session_id", { .session_id = "s-4242" }, 0, 0, 0 },
		{ "cursor at 90%", { 0 }, 0.9, 0, 0 },
		{ "verb, cursor at 90%", { .verb = "auth.login" }, 0.9, 0, 0 },
		{ "offset at 90%", { 0 }, 0, 0.9, 0 },
		/* Filtered offsets step over the skipped matching rows (docs/audit-api.md). */
		{ "verb, offset at 90%", { .verb = "node_shell.open" }, 0, 0.9, 1.0 / 8 },
		{ "actor, offset at 90%", { .actor = "user-7" }, 0, 0.9, 1.0 / 50 },
		{ "outcome=success, offset at 90%", { .outcome = "success" }, 0, 0.9, 0.85 },
	};
	long long rows = argc > 2 ? atoll(argv[2]) : 1000000;
	int reps = argc > 3 ? atoi(argv[3]) : 100;
	struct dbx *big = NULL, *small = NULL;
	int rc = 1;

	if (argc < 2 || rows < SMALL_ROWS || reps < 1) {
		fprintf(stderr, "usage: %s DIR [ROWS>=%d] [REPS>=1]\n", argv[0], SMALL_ROWS);
		return 2;
	}
	big = open_filled(argv[1], "big", rows);
	small = open_filled(argv[1], "small", SMALL_ROWS);
	if (!big || !small)
		goto done;
	printf("| query (GET /api/audit) | p50 ms at %lld | p99 ms at %lld | CPU ms p50 / p99 at "
	       "%lld | p50 ms at %d (anchor) | p99 ms at %d (anchor) | p99 ratio |\n"
	       "|---|---|---|---|---|---|---|\n",
	       rows, rows, rows, SMALL_ROWS, SMALL_ROWS);
	for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
		struct timing b, s;
		if (measure(big, rows, &scenarios[i], reps, &b) != 0 ||
		    measure(small, SMALL_ROWS, &scenarios[i], reps, &s) != 0)
			goto done;
		printf("| %s | %.2f | %.2f | %.2f / %.2f | %.2f | %.2f | %.1f |\n", scenarios[i].name,
		       b.p50, b.p99, b.cpu50, b.cpu99, s.p50, s.p99, s.p99 > 0 ? b.p99 / s.p99 : 0.0);
		fflush(stdout);
	}
	rc = 0;
done:
	dbx_close(big);
	dbx_close(small);
	return rc;
}
