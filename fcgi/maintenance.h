/* Background upkeep of the database: audit retention (age, size, VACUUM) and expired
 * login sessions, once at start and then every audit.vacuumInterval; and every
 * database.sweepInterval (15 s; at most 30 s, so that a killed terminal's close row and
 * its cluster objects go within a minute of its death, with room for a slow apiserver), the
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
	/* Since when (monotonic ms) every pass has reached the database; 0 after one that did
	 * not. Other replicas' leases are judged only once this is SHELL_LEASE_MS old. */
	long long db_ok_since;
};

int maintenance_start(struct maintenance *m, const struct config *cfg, struct cred_cache *creds);
void maintenance_stop(struct maintenance *m);
/* One pass of the audit upkeep (retention) and expired sessions. */
void maintenance_run_once(const struct config *cfg);
/* Writes the close rows (reason "lost") of terminals whose process is gone, or whose
 * replica's lease expired. */
void maintenance_reap(struct maintenance *m);
/* The same, and deletes what cluster-shell sessions left on their clusters. */
void maintenance_sweep(struct maintenance *m);

#endif
