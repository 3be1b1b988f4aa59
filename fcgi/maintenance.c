#include "maintenance.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "store/audit_retention.h"
#include "k8s/cluster_shell_sweep.h"
#include "store/db.h"
#include "core/log.h"
#include "store/session_store.h"
#include "core/timeutil.h"

/* Orphans of killed sessions go within a minute; the audit upkeep runs on its interval. */
#define SWEEP_INTERVAL_S 60

void maintenance_sweep(const struct config *cfg, struct eks_cache *eks)
{
	sqlite3 *db = NULL;
	char err[256];

	if (db_open(cfg->audit.db_path, &db, err, sizeof err) != 0) {
		log_msg(LOG_ERROR, "maintenance", "%s", err);
		return;
	}
	cluster_shell_sweep_all(cfg, db, eks);
	db_close(db);
}

void maintenance_run_once(const struct config *cfg)
{
	struct retention_result r;
	sqlite3 *db = NULL;
	char err[256];

	if (db_open(cfg->audit.db_path, &db, err, sizeof err) != 0) {
		log_msg(LOG_ERROR, "maintenance", "%s", err);
		return;
	}
	if (session_store_purge(db, now_ms() / 1000, cfg->session.idle_timeout_s) != 0)
		log_msg(LOG_ERROR, "maintenance", "session purge failed: %s", sqlite3_errmsg(db));
	if (audit_retention_run(db, cfg->audit.db_path, cfg->audit.retention_days,
				cfg->audit.max_size_mb, now_ns(), &r) != 0)
		log_msg(LOG_ERROR, "maintenance", "audit retention failed: %s", sqlite3_errmsg(db));
	else if (r.deleted_by_age + r.deleted_by_size > 0)
		log_json(LOG_INFO, "maintenance", "audit retention",
			 json_pack("{s:I, s:I, s:I, s:I}", "deleted_by_age", (json_int_t)r.deleted_by_age,
				   "deleted_by_size", (json_int_t)r.deleted_by_size, "size_before",
				   (json_int_t)r.size_before, "size_after", (json_int_t)r.size_after));
	db_close(db);
}

static void *maintenance_main(void *arg)
{
	struct maintenance *m = arg;

	long long next_upkeep = 0;

	pthread_mutex_lock(&m->lock);
	while (!m->stop) {
		struct timespec until;
		long long now = monotonic_ms();

		pthread_mutex_unlock(&m->lock);
		if (now >= next_upkeep) {
			maintenance_run_once(m->cfg);
			next_upkeep = now + (long long)m->cfg->audit.vacuum_interval_s * 1000;
		}
		maintenance_sweep(m->cfg, m->eks);
		pthread_mutex_lock(&m->lock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += SWEEP_INTERVAL_S;
		while (!m->stop && pthread_cond_timedwait(&m->wake, &m->lock, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

int maintenance_start(struct maintenance *m, const struct config *cfg, struct eks_cache *eks)
{
	memset(m, 0, sizeof *m);
	m->cfg = cfg;
	m->eks = eks;
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
