#include "store/pg_conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libpq's messages end with a newline; one line reads better in ours. */
static void copy_reason(char *err, size_t errlen, const char *what, const char *why)
{
	size_t n = why ? strcspn(why, "\n") : 0;

	snprintf(err, errlen, "%s: %.*s", what, (int)n, n ? why : "unknown error");
}

/* The server's notices (CREATE TABLE IF NOT EXISTS ... skipping) are not errors; libpq's
 * default prints them on stderr, which websocketd logs as ERROR lines. */
static void ignore_notice(void *arg, const char *message)
{
}

int pg_connect(const char *conninfo, const char *password, PGconn **out, char *err,
	       size_t errlen)
{
	/* expand_dbname: the dbname value is the whole URL or connection string. What it holds
	 * overrides the keywords before it (our defaults: an operator's connect_timeout or
	 * application_name in database.url wins), and the keyword after it (the password,
	 * which the URL never holds: config_database.c) overrides what it holds. */
	const char *const keywords[] = { "connect_timeout", "application_name", "dbname",
					 "password", NULL };
	const char *const values[] = { PG_CONNECT_TIMEOUT_S, "periscope", conninfo,
				       password && *password ? password : NULL, NULL };
	PGconn *pg = PQconnectdbParams(keywords, values, 1);

	*out = NULL;
	if (!pg) {
		snprintf(err, errlen, "cannot connect to PostgreSQL: out of memory");
		return -1;
	}
	if (PQstatus(pg) != CONNECTION_OK) {
		copy_reason(err, errlen, "cannot connect to PostgreSQL", PQerrorMessage(pg));
		PQfinish(pg);
		return -1;
	}
	PQsetNoticeProcessor(pg, ignore_notice, NULL);
	*out = pg;
	return 0;
}

/* One integer from a one-row query, or -1. */
static long long query_int(PGconn *pg, const char *sql, char *err, size_t errlen)
{
	PGresult *res = PQexec(pg, sql);
	long long v = -1;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	else
		copy_reason(err, errlen, "cannot read the schema version", PQerrorMessage(pg));
	PQclear(res);
	return v;
}

int pg_schema_version(PGconn *pg, char *err, size_t errlen)
{
	/* Asked first because a query naming a missing table fails as a whole (and would
	 * abort a surrounding transaction). */
	long long exists = query_int(pg, "SELECT count(*) FROM pg_catalog.pg_tables WHERE"
				     " schemaname = current_schema() AND tablename = 'schema_version'",
				     err, errlen);

	if (exists <= 0)
		return (int)exists;
	return (int)query_int(pg, "SELECT coalesce(max(version), 0) FROM schema_version", err,
			      errlen);
}
