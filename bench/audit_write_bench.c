/* Benchmark: what one audit row costs to write (audit_write_dbx, exactly what every request
 * runs: the hash chain, the budget and metrics triggers, the indexes, its own commit), with
 * the per-bucket row counts of sql/015_audit_ts_buckets.sql ("with") and with that
 * migration's triggers, table and index changes taken back out ("without", schema v14's
 * shape). Prints the CPU time per write: this process's, and on PostgreSQL also the server
 * backend's that served it.
 *
 *   audit-write-bench URL with|without [WRITES=5000] [PREFILL=20000]
 *
 * URL is what dbx_open takes ("sqlite:PATH" or a libpq "key=value" string), one database
 * per mode (a database once run "without" stays so). It is emptied first, then PREFILL rows
 * are written (so the indexes are not tiny) and WRITES rows are measured. For instructions
 * rather than time, run it under callgrind with --toggle-collect=measured_writes: only the
 * measured writes are counted. Not a test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "store/audit.h"
#include "store/dbx.h"

#define BASE_TS_NS 1767225600000000000LL /* 2026-01-01T00:00:00Z */
#define STEP_NS 2600000000LL             /* 2.6 s apart, like audit_query_bench.c */

/* Schema v14's shape: sql/015's triggers and table gone, and on SQLite sql/009's indexes
 * back (015 rewrote three of them with id after ts_unix_nano). */
static const char WITHOUT_SQLITE[] =
	"DROP TRIGGER IF EXISTS audit_ts_buckets_insert; DROP TRIGGER IF EXISTS audit_ts_buckets_delete;"
	" DROP TRIGGER IF EXISTS audit_ts_buckets_update; DROP TABLE IF EXISTS audit_ts_buckets;"
	" DROP INDEX idx_audit_actor_ts;"
	" CREATE INDEX idx_audit_actor_ts ON audit_events(actor_sub, ts_unix_nano, verb, outcome, cluster);"
	" DROP INDEX idx_audit_verb_ts;"
	" CREATE INDEX idx_audit_verb_ts ON audit_events(verb, ts_unix_nano, outcome, cluster);"
	" DROP INDEX idx_audit_cluster_ts;"
	" CREATE INDEX idx_audit_cluster_ts ON audit_events(cluster, ts_unix_nano, outcome);";
static const char WITHOUT_PG[] =
	"DROP TRIGGER IF EXISTS audit_ts_buckets_insert ON audit_events;"
	" DROP TRIGGER IF EXISTS audit_ts_buckets_delete ON audit_events;"
	" DROP TRIGGER IF EXISTS audit_ts_buckets_update ON audit_events;"
	" DROP TABLE IF EXISTS audit_ts_buckets";

/* This process's user and system CPU time, ms: an extra page written to SQLite's WAL at
 * each commit shows as system time, which callgrind does not count. */
static void cpu_ms(double *user, double *sys)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	*user = (double)ru.ru_utime.tv_sec * 1e3 + (double)ru.ru_utime.tv_usec / 1e3;
	*sys = (double)ru.ru_stime.tv_sec * 1e3 + (double)ru.ru_stime.tv_usec / 1e3;
}

/* The PostgreSQL backend's CPU time in ms (utime + stime of /proc/PID/stat), -1 when it is
 * not readable here (another machine, SQLite). */
static double backend_cpu_ms(long pid)
{
	char path[64], buf[1024], *p;
	unsigned long long utime, stime;
	FILE *f;
	size_t n;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields 14 and 15, counted after the ")" that ends the command name. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
			 &stime) != 2)
		return -1;
	return (double)(utime + stime) * 1e3 / (double)sysconf(_SC_CLK_TCK);
}

static int write_rows(struct dbx *db, long long first, long long n)
{
	char request_id[32];

	for (long long i = first; i < first + n; i++) {
		struct audit_event ev = {
			.ts_ns = BASE_TS_NS + i * STEP_NS, .request_id = request_id,
			.route = "/api/clusters/c1/shell", .actor_sub = "user-7",
			.actor_email = "user-7@example.com", .verb = "cluster_shell.open",
			.outcome = "success", .cluster = "c1",
		};
		snprintf(request_id, sizeof request_id, "req-%lld", i);
		if (audit_write_dbx(db, &ev, NULL) != 0)
			return -1;
	}
	return 0;
}

/* The measured writes. Not inlined: callgrind's --toggle-collect names it. */
__attribute__((noinline)) int measured_writes(struct dbx *db, long long first, long long n);

int measured_writes(struct dbx *db, long long first, long long n)
{
	return write_rows(db, first, n);
}

static long backend_pid(struct dbx *db)
{
	struct dbx_stmt *st = NULL;
	long pid = -1;

	if (db->engine == DBX_POSTGRES && dbx_prepare(db, "SELECT pg_backend_pid()", &st) == 0 &&
	    dbx_step(st) == DBX_ROW)
		pid = (long)dbx_column_int64(st, 0);
	dbx_finalize(st);
	return pid;
}

int main(int argc, char **argv)
{
	struct dbx *db = NULL;
	char err[256];
	long long writes, prefill;
	double user0, sys0, user1, sys1, be0, be1;
	bool without;
	long pid;
	int rc = 1;

	if (argc < 3 || (strcmp(argv[2], "with") != 0 && strcmp(argv[2], "without") != 0)) {
		fprintf(stderr, "usage: audit-write-bench URL with|without [WRITES] [PREFILL]\n");
		return 2;
	}
	without = strcmp(argv[2], "without") == 0;
	writes = argc > 3 ? atoll(argv[3]) : 5000;
	prefill = argc > 4 ? atoll(argv[4]) : 20000;
	if (dbx_open(argv[1], NULL, &db, err, sizeof err) != 0) {
		fprintf(stderr, "%s: %s\n", argv[1], err);
		return 1;
	}
	if (dbx_exec(db, "DELETE FROM audit_events") != 0 ||
	    (without && dbx_exec(db, dbx_sql(db, WITHOUT_SQLITE, WITHOUT_PG)) != 0))
		goto fail;
	if (prefill > 0 && (dbx_begin_write(db) != 0 || write_rows(db, 0, prefill) != 0 ||
			    dbx_commit(db) != 0))
		goto fail;
	pid = backend_pid(db);
	cpu_ms(&user0, &sys0);
	be0 = backend_cpu_ms(pid);
	if (measured_writes(db, prefill, writes) != 0)
		goto fail;
	cpu_ms(&user1, &sys1);
	be1 = backend_cpu_ms(pid);
	printf("%s\t%s\t%lld writes\tclient CPU user %.1f + system %.1f us/write",
	       db->engine == DBX_POSTGRES ? "postgres" : "sqlite", argv[2], writes,
	       (user1 - user0) * 1e3 / (double)writes, (sys1 - sys0) * 1e3 / (double)writes);
	if (be0 >= 0 && be1 >= 0)
		printf("\tbackend CPU %.1f us/write", (be1 - be0) * 1e3 / (double)writes);
	printf("\n");
	rc = 0;
	goto done;
fail:
	fprintf(stderr, "%s\n", dbx_errmsg(db));
	dbx_rollback(db);
done:
	dbx_close(db);
	return rc;
}
