/* Connecting to PostgreSQL (database.url = postgres://... or a libpq connection string) and
 * reading its schema version. The password travels beside the URL, never in it. */
#ifndef PERISCOPE_PG_CONN_H
#define PERISCOPE_PG_CONN_H

#include <libpq-fe.h>
#include <stddef.h>

/* Seconds libpq waits for a server that does not answer. */
#define PG_CONNECT_TIMEOUT_S "10"

/* Connects with libpq (password NULL or "": libpq's own PGPASSWORD / ~/.pgpass). 0, or -1
 * with libpq's reason in err (it never holds the password). */
int pg_connect(const char *conninfo, const char *password, PGconn **out, char *err,
	       size_t errlen);
/* The newest migration applied (the schema_version table; 0 when it does not exist yet),
 * or -1 with err. */
int pg_schema_version(PGconn *pg, char *err, size_t errlen);

#endif
