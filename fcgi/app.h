/* The FastCGI application's per-thread context. Each worker thread owns its database
 * connection and its OIDC provider cache; the config is shared read-only. */
#ifndef PERISCOPE_FCGI_APP_H
#define PERISCOPE_FCGI_APP_H

#include <sqlite3.h>

#include "auth/auth.h"
#include "config/config.h"
#include "auth/oidc_client.h"
#include "k8s/eks_access.h"
#include "aws/ssm_message.h"
#include "store/dbx.h"

struct worker {
	const struct config *cfg;
	/* The worker's connection (database.url), for the ported modules' _dbx functions. */
	struct dbx *dbx;
	/* The same connection's SQLite handle, for the modules not ported yet; NULL on
	 * PostgreSQL. */
	sqlite3 *db;
	struct oidc_provider *provider;   /* discovered on first use */
	struct auth_ctx auth;
	struct cred_cache *creds;            /* the process's, shared by the workers */
	struct upstream_tally tally;         /* this request's upstream calls, flushed after it */
	/* Random bytes for request ids, refilled 512 at a time (libuuid's uuid_generate_random
	 * read its random source on every request: 9k instructions and a system call). */
	struct ssm_uuid_pool request_ids;
};

int worker_init(struct worker *w, const struct config *cfg, char *err, size_t errlen);
void worker_cleanup(struct worker *w);

#endif
