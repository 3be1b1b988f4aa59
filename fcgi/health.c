#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "handlers.h"
#include "store/audit_retention.h"
#include "store/db.h"
#include "store/dbx.h"
#include "core/log.h"
#include "core/timeutil.h"

void handle_healthz(struct request *rq)
{
	bool reachable = dbx_ping(rq->w->dbx) == 0;

	/* Liveness: the process answers (200 either way: restarting it would not bring the
	 * database back). Whether it can serve is /readyz's question, so that a full disk or a
	 * lost database makes a load balancer stop sending, not a supervisor restart in a
	 * loop. The database's reachability is said for the load balancer and the operator
	 * (docs/deployment.md "N replicas"); the reason only in the log, since /healthz is
	 * public. */
	if (!reachable)
		log_msg(LOG_WARN, "health", "the database does not answer: %s",
			dbx_errmsg(rq->w->dbx));
	respond_json(rq, 200, json_pack("{s:s, s:s}", "status", "ok", "database",
					reachable ? "reachable" : "unreachable"));
}

static void check(json_t *checks, const char *name, bool ok, json_t *detail)
{
	json_t *c = detail ? detail : json_object();

	json_object_set_new(c, "ok", json_boolean(ok));
	json_object_set_new(checks, name, c);
}

/* Writable means: the file, its directory (SQLite creates its -wal and -shm files there)
 * and the -wal file when there is one pass access(2), which also sees an immutable file as
 * root; and a committed write succeeds (a full disk, an I/O error). A fresh connection
 * would not do: SQLite hands it a descriptor the process opened for writing earlier, and
 * opening the file ourselves is out, since close() drops every POSIX lock the process holds
 * on it (store/db.c). */
static bool probe_write(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	char dir[4096], wal[4096];
	sqlite3_stmt *st = NULL;
	const char *slash;
	bool ok = false;

	if (strcmp(path, ":memory:") != 0) {
		slash = strrchr(path, '/');
		snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) + (slash == path) : 1,
			 slash ? path : ".");
		snprintf(wal, sizeof wal, "%s-wal", path);
		if (access(path, R_OK | W_OK) != 0 || access(dir, W_OK | X_OK) != 0 ||
		    (access(wal, F_OK) == 0 && access(wal, W_OK) != 0)) {
			snprintf(err, errlen, "the database or its directory is not writable: %s",
				 strerror(errno));
			return false;
		}
	}
	if (sqlite3_prepare_v2(db, "INSERT INTO readiness_probe (id, at_ms) VALUES (1, ?)"
				   " ON CONFLICT (id) DO UPDATE SET at_ms = excluded.at_ms",
			       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 1, now_ms()) != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE) {
		snprintf(err, errlen, "cannot write the database: %s", sqlite3_errmsg(db));
		goto done;
	}
	ok = true;
done:
	sqlite3_finalize(st);
	return ok;
}

/* PostgreSQL: a committed write (a read-only standby after a failover, a full disk). */
static bool probe_write_pg(struct dbx *db, char *err, size_t errlen)
{
	struct dbx_stmt *st = NULL;
	bool ok = false;

	if (dbx_prepare(db, "INSERT INTO readiness_probe (id, at_ms) VALUES (1, ?)"
			    " ON CONFLICT (id) DO UPDATE SET at_ms = excluded.at_ms", &st) != 0 ||
	    dbx_bind_int64(st, 1, now_ms()) != 0 || dbx_step(st) != DBX_DONE) {
		snprintf(err, errlen, "cannot write the database: %s", dbx_errmsg(db));
		goto done;
	}
	ok = true;
done:
	dbx_finalize(st);
	return ok;
}

bool health_ready(struct worker *w, json_t **report)
{
	const struct config *cfg = w->cfg;
	long long bytes = 0, rows = 0, budget = (long long)cfg->audit.max_size_mb * 1024 * 1024;
	json_t *checks = json_object();
	const char *failing = NULL;
	int version;
	char err[256];
	bool ok;

#define FAIL_IF(cond, name) \
	if ((cond) && !failing) \
		failing = name;
	/* The config was loaded and validated at start, or the process would not run. (Where
	 * from is not said: /readyz is public, for load balancers.) */
	check(checks, "config", true, NULL);
	ok = w->db ? sqlite3_exec(w->db, "SELECT 1 FROM audit_usage", NULL, NULL, NULL) == SQLITE_OK
		   : dbx_ping(w->dbx) == 0;
	check(checks, "database", ok, ok ? NULL : json_pack("{s:s}", "error", dbx_errmsg(w->dbx)));
	FAIL_IF(!ok, "database");
	ok = w->db ? probe_write(w->db, cfg->audit.db_path, err, sizeof err)
		   : probe_write_pg(w->dbx, err, sizeof err);
	check(checks, "database_writable", ok, ok ? NULL : json_pack("{s:s}", "error", err));
	FAIL_IF(!ok, "database_writable");
	version = dbx_schema_version(w->dbx);
	ok = version == db_latest_version();
	check(checks, "migrations", ok,
	      json_pack("{s:i, s:i}", "version", version, "expected", db_latest_version()));
	FAIL_IF(!ok, "migrations");
	ok = audit_usage_get_dbx(w->dbx, &bytes, &rows) == 0 && !(budget > 0 && bytes >= budget);
	check(checks, "audit_budget", ok,
	      json_pack("{s:I, s:I}", "bytes", (json_int_t)bytes, "budgetBytes", (json_int_t)budget));
	FAIL_IF(!ok, "audit_budget");
#undef FAIL_IF
	if (report)
		*report = json_pack("{s:s, s:s*, s:o}", "status", failing ? "not_ready" : "ready",
				    "failing", failing, "checks", checks);
	else
		json_decref(checks);
	return failing == NULL;
}

/* GET /readyz: 200 {"status":"ready"} or 503 {"status":"not_ready","failing":CHECK} with
 * every check's detail, for load balancers and the systemd units (docs/monitoring.md). */
void handle_readyz(struct request *rq)
{
	json_t *report = NULL;
	bool ready = health_ready(rq->w, &report);

	if (!report) {
		respond_error(rq, 500, "E_INTERNAL", "out of memory", NULL);
		return;
	}
	respond_json(rq, ready ? 200 : 503, report);
}

/* GET /api/health: /healthz plus the audit budget. A reached budget is "degraded" (the
 * service still works, so 200): with retentionDays set, rows younger than it are kept and
 * the operator must raise audit.maxSizeMB or lower retentionDays (store/audit_retention.h). */
void handle_api_health(struct request *rq)
{
	const struct config *cfg = rq->w->cfg;
	long long bytes, rows, budget = (long long)cfg->audit.max_size_mb * 1024 * 1024;
	bool reached;

	if (audit_usage_get_dbx(rq->w->dbx, &bytes, &rows) != 0) {
		respond_error(rq, 503, "E_UNAVAILABLE", "the database does not answer", NULL);
		return;
	}
	reached = budget > 0 && bytes >= budget;
	respond_json(rq, 200,
		     json_pack("{s:s, s:s, s:{s:I, s:I, s:I, s:b, s:i}}", "status",
			       reached ? "degraded" : "ok", "database", "ok", "audit", "bytes",
			       (json_int_t)bytes, "rows", (json_int_t)rows, "budgetBytes",
			       (json_int_t)budget, "budgetReached", reached, "retentionDays",
			       cfg->audit.retention_days));
}
