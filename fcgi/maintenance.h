/* Background upkeep of the database: audit retention (age, size, VACUUM) and expired
 * login sessions, once at start and then every audit.vacuumInterval; and every 15 s, the
 * sweep of terminals whose process died: their close rows (reason "lost") and what
 * cluster-shell sessions left on their clusters, the summary rows of aggregated refusals,
 * and the audit budget's alarm. */
#ifndef PERISCOPE_FCGI_MAINTENANCE_H
#define PERISCOPE_FCGI_MAINTENANCE_H

#include <pthread.h>
#include <stdbool.h>

#include "config/config.h"
#include "k8s/eks_access.h"

struct maintenance {
	const struct config *cfg;
	struct cred_cache *creds;          /* the process's (main owns it) */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop;
	bool started;
};

int maintenance_start(struct maintenance *m, const struct config *cfg, struct cred_cache *creds);
void maintenance_stop(struct maintenance *m);
/* One pass of the audit upkeep (retention) and expired sessions. */
void maintenance_run_once(const struct config *cfg);
/* Writes the close rows (reason "lost") of terminals whose process is gone. */
void maintenance_reap(const struct config *cfg);
/* Writes the close rows of terminals whose process is gone and deletes what cluster-shell
 * sessions left on their clusters. */
void maintenance_sweep(const struct config *cfg, struct cred_cache *creds);

#endif
