/* Background upkeep of the database: audit retention (age, size, VACUUM) and expired
 * login sessions, once at start and then every audit.vacuumInterval. */
#ifndef PERISCOPE_FCGI_MAINTENANCE_H
#define PERISCOPE_FCGI_MAINTENANCE_H

#include <pthread.h>
#include <stdbool.h>

#include "config.h"

struct maintenance {
	const struct config *cfg;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop;
	bool started;
};

int maintenance_start(struct maintenance *m, const struct config *cfg);
void maintenance_stop(struct maintenance *m);
/* One pass, also used at start-up and by tests. */
void maintenance_run_once(const struct config *cfg);

#endif
