/* What a SIGKILLed session leaves behind: its registry row (its process is gone) and its
 * labelled Pod and Secret. The sweep reaps the rows, then deletes every periscope-managed
 * Pod or Secret whose session has no live row. Runs when a cluster shell starts and
 * periodically from periscope.fcgi. */
#ifndef PERISCOPE_CLUSTER_SHELL_SWEEP_H
#define PERISCOPE_CLUSTER_SHELL_SWEEP_H

#include <sqlite3.h>

#include "config/config.h"
#include "k8s/k8s_client.h"

/* Returns how many objects were deleted, or -1. keep_session: a session id never swept
 * (the caller's own, which may not be registered yet), or NULL. */
int cluster_shell_sweep(sqlite3 *db, const struct k8s_client *k, const char *ns,
			const char *keep_session);
/* The sweep for every cluster whose shell is enabled and reachable. */
void cluster_shell_sweep_all(const struct config *cfg, sqlite3 *db);

#endif
