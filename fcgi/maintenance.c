#include "maintenance.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store/audit_refusal.h"
#include "store/audit_retention.h"
#include "store/recording_sweep.h"
#include "shell/recording.h"
#include "k8s/cluster_shell_sweep.h"
#include "store/db.h"
#include "store/dbx.h"
#include "store/dbx_config.h"
#include "core/log.h"
#include "store/session_store.h"
#include "store/shell_registry.h"
#include "store/shell_control.h"
#include "core/timeutil.h"

/* The shared database as configured (database.url; SQLite's file is audit.dbPath), for the
 * passes over the live-session side, which is ported onto store/dbx.h: on PostgreSQL any
 * replica's pass closes the sessions of a replica that died (their lease expired). NULL
 * when it does not open (logged). */
static struct dbx *open_shared(const struct config *cfg)
{
	struct dbx *db = NULL;
	char err[512];

	if (dbx_open_configured(cfg, &db, err, sizeof err) != 0) {
		log_msg(LOG_ERROR, "maintenance", "%s", err);
		return NULL;
	}
	return db;
}

/* Other replicas' leases are trusted only once the database has answered every pass for a
 * whole lease: after an outage (or at this process's start), their bridges' heartbeats are
 * as late as the outage was long, through no fault of theirs, and they renew within a
 * second of the database's return (wsbridge/session.c). Until then only this replica's
 * own rows are judged, by pid. */
static bool leases_trusted(const struct maintenance *m)
{
	return m->db_ok_since && monotonic_ms() - m->db_ok_since >= SHELL_LEASE_MS;
}

static struct dbx *open_pass(struct maintenance *m)
{
	struct dbx *db = open_shared(m->cfg);

	if (!db)
		m->db_ok_since = 0;
	else if (!m->db_ok_since)
		m->db_ok_since = monotonic_ms();
	return db;
}

static void reap_lost(struct maintenance *m, struct dbx *db)
{
	const char *replica = m->cfg->database.replica_id;
	int n = leases_trusted(m) ? shell_registry_reap_dbx(db, replica, NULL)
				  : shell_registry_reap_pids_dbx(db, replica, NULL);

	if (n < 0) {
		m->db_ok_since = 0;
		log_msg(LOG_ERROR, "maintenance", "reaping lost terminals failed: %s", dbx_errmsg(db));
	}
	else if (n > 0)
		log_json(LOG_INFO, "maintenance", "closed the sessions of terminals that died",
			 json_pack("{s:i, s:s}", "sessions", n, "reason", "lost"));
}

void maintenance_reap(struct maintenance *m)
{
	struct dbx *db = open_pass(m);

	if (!db)
		return;
	reap_lost(m, db);
	dbx_close(db);
}

void maintenance_sweep(struct maintenance *m)
{
	struct dbx *db = open_pass(m);

	if (!db)
		return;
	/* The close rows first: they do not wait on any cluster. */
	reap_lost(m, db);
	if (shell_control_purge_watchers_dbx(db) < 0)
		log_msg(LOG_ERROR, "maintenance", "forgetting the watchers of closed sessions failed: %s",
			dbx_errmsg(db));
	/* The objects of sessions whose rows are gone; a live row (a lease not trusted yet
	 * included) keeps its objects. */
	cluster_shell_sweep_all(m->cfg, db, leases_trusted(m), m->creds);
	dbx_close(db);
}

/* After retention: the recordings of sessions whose rows are gone go too. */
static void sweep_recordings(const struct config *cfg, struct dbx *db)
{
	char dir[4096];
	int n;

	if (recording_dir(cfg, dir, sizeof dir) != 0)
		return;
	n = recording_sweep_dbx(db, dir, now_ms() / 1000);
	if (n < 0)
		log_msg(LOG_ERROR, "maintenance", "recording retention failed: %s", dbx_errmsg(db));
	else if (n > 0)
		log_json(LOG_INFO, "maintenance", "deleted the recordings of sessions past retention",
			 json_pack("{s:i}", "recordings", n));
}

/* The upkeep on the configured engine: on PostgreSQL, any replica's pass does it for all
 * (each statement is idempotent; two replicas at once delete each row once). */
void maintenance_run_once(const struct config *cfg)
{
	struct retention_result r;
	struct dbx *db = open_shared(cfg);

	if (!db)
		return;
	if (session_store_purge_dbx(db, now_ms() / 1000, cfg->session.idle_timeout_s) != 0)
		log_msg(LOG_ERROR, "maintenance", "session purge failed: %s", dbx_errmsg(db));
	if (audit_retention_run_dbx(db, cfg->audit.db_path, cfg->audit.retention_days,
				    cfg->audit.max_size_mb, now_ns(), &r) != 0)
		log_msg(LOG_ERROR, "maintenance", "audit retention failed: %s", dbx_errmsg(db));
	else if (r.deleted_by_age + r.deleted_by_size > 0)
		log_json(r.deleted_by_size > 0 ? LOG_WARN : LOG_INFO, "maintenance", "audit retention",
			 json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "deleted_by_age",
				   (json_int_t)r.deleted_by_age, "deleted_by_size",
				   (json_int_t)r.deleted_by_size, "audit_bytes",
				   (json_int_t)r.audit_bytes_after, "budget_bytes",
				   (json_int_t)r.budget_bytes, "size_before", (json_int_t)r.size_before,
				   "size_after", (json_int_t)r.size_after));
	sweep_recordings(cfg, db);
	/* Keeps the planner's statistics current as the audit table grows (SQLite runs
	 * ANALYZE only where they are missing or stale): with them, a query filtered on
	 * verb and actor walks the operator's index, not the verb's eight times larger one.
	 * PostgreSQL's autovacuum analyzes on its own. */
	if (db->engine == DBX_SQLITE &&
	    sqlite3_exec(db->lite, "PRAGMA optimize", NULL, NULL, NULL) != SQLITE_OK)
		log_msg(LOG_WARN, "maintenance", "PRAGMA optimize failed: %s", dbx_errmsg(db));
	dbx_close(db);
}

/* At every sweep: the summary rows of the refusal windows that are over
 * (store/audit_refusal.h), and the audit budget. A reached budget is said loudly: at
 * once, then every BUDGET_ALARM_REPEAT_S while it lasts (GET /api/health says it all the
 * time). Nothing is deleted for it while retentionDays is set (store/audit_retention.h). */
#define BUDGET_ALARM_REPEAT_S 3600

static void audit_minute(const struct config *cfg, long long *last_alarm_ms)
{
	long long bytes, rows, budget = (long long)cfg->audit.max_size_mb * 1024 * 1024;
	struct dbx *db = NULL;
	char err[256];

	if (dbx_open_configured(cfg, &db, err, sizeof err) != 0) {
		log_msg(LOG_ERROR, "maintenance", "%s", err);
		return;
	}
	if (audit_refusal_flush_dbx(db, now_ms() / 1000, cfg->audit.refusal_window_s) != 0)
		log_msg(LOG_ERROR, "maintenance", "refusal counts not written: %s", dbx_errmsg(db));
	if (budget <= 0 || audit_usage_get_dbx(db, &bytes, &rows) != 0 || bytes < budget) {
		*last_alarm_ms = 0;
		goto done;
	}
	if (*last_alarm_ms && monotonic_ms() - *last_alarm_ms < BUDGET_ALARM_REPEAT_S * 1000LL)
		goto done;
	*last_alarm_ms = monotonic_ms();
	log_json(LOG_ERROR, "maintenance",
		 "audit budget reached: raise audit.maxSizeMB or lower audit.retentionDays",
		 json_pack("{s:I, s:I, s:I, s:i}", "audit_bytes", (json_int_t)bytes, "audit_rows",
			   (json_int_t)rows, "budget_bytes", (json_int_t)budget, "retention_days",
			   cfg->audit.retention_days));
done:
	dbx_close(db);
}

static void *maintenance_main(void *arg)
{
	struct maintenance *m = arg;

	long long next_upkeep = 0, last_budget_alarm = 0;

	pthread_mutex_lock(&m->lock);
	while (!m->stop) {
		struct timespec until;
		long long now = monotonic_ms();

		/* The next pass is due one interval after this one starts, however long this one
		 * takes (a slow apiserver, the audit upkeep); the close rows of dead terminals
		 * first, so that they wait for neither. */
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += m->cfg->database.sweep_interval_s;
		pthread_mutex_unlock(&m->lock);
		maintenance_reap(m);
		if (now >= next_upkeep) {
			maintenance_run_once(m->cfg);
			next_upkeep = now + (long long)m->cfg->audit.vacuum_interval_s * 1000;
		}
		maintenance_sweep(m);
		audit_minute(m->cfg, &last_budget_alarm);
		pthread_mutex_lock(&m->lock);
		while (!m->stop && pthread_cond_timedwait(&m->wake, &m->lock, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

int maintenance_start(struct maintenance *m, const struct config *cfg, struct cred_cache *creds)
{
	memset(m, 0, sizeof *m);
	m->cfg = cfg;
	m->creds = creds;
	if (pthread_mutex_init(&m->lock, NULL) != 0 || pthread_cond_init(&m->wake, NULL) != 0 ||
	    pthread_create(&m->thread, NULL, maintenance_main, m) != 0)
		return -1;
	m->started = true;
	return 0;
}

void maintenance_stop(struct maintenance *m)
{
	if (!m->started)
		return;
	pthread_mutex_lock(&m->lock);
	m->stop = true;
	pthread_cond_signal(&m->wake);
	pthread_mutex_unlock(&m->lock);
	pthread_join(m->thread, NULL);
	pthread_cond_destroy(&m->wake);
	pthread_mutex_destroy(&m->lock);
	m->started = false;
}
