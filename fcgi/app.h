/* The FastCGI application's per-thread context. Each worker thread owns its SQLite
 * connection and its OIDC provider cache; the config is shared read-only. */
#ifndef PERISCOPE_FCGI_APP_H
#define PERISCOPE_FCGI_APP_H

#include <sqlite3.h>

#include "store/dbx.h"

#include "auth/auth.h"
#include "config/config.h"
#include "auth/oidc_client.h"
#include "k8s/eks_access.h"

struct worker {
	const struct config *cfg;
	sqlite3 *db;
	struct dbx *dbx;                     /* the same database through store/dbx.h, for the
	                                      * ported stores (either engine) */
	struct oidc_provider *provider;   /* discovered on first use */
	struct auth_ctx auth;
	struct cred_cache *creds;            /* the process's, shared by the workers */
	struct upstream_tally tally;         /* this request's upstream calls, flushed after it */
};

int worker_init(struct worker *w, const struct config *cfg, char *err, size_t errlen);
void worker_cleanup(struct worker *w);

#endif
