/* PostgreSQL's migrations: sql/pg/NNN_*.sql, the same version numbers as sql/, recorded in a
 * schema_version table (one row per applied migration) where SQLite has PRAGMA user_version.
 * Each is applied in its own transaction under an advisory lock, so that replicas starting
 * together migrate once; a schema newer than this build's is refused, as on SQLite. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/db.h"
#include "store/dbx_internal.h"
#include "store/migrations.h"
#include "store/pg_conn.h"

/* The advisory lock every periscope takes to migrate: any constant of our own will do. */
#define MIGRATE_LOCK_KEY "7301202615"

static const char create_version_table[] =
	"CREATE TABLE IF NOT EXISTS schema_version ("
	" version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";

static int pg_latest_version(void)
{
	int latest = 0;

	for (size_t i = 0; i < pg_migrations_count; i++)
		if (pg_migrations[i].version > latest)
			latest = pg_migrations[i].version;
	return latest;
}

/* Applies m unless another replica did while we waited for the lock. */
static int apply(struct dbx *db, const struct migration *m, char *err, size_t errlen)
{
	PGconn *pg = (PGconn *)db->pg;
	char record[256];
	int current;

	snprintf(record, sizeof record, "INSERT INTO schema_version (version, name, applied_at)"
		 " VALUES (%d, '%s', %lld)", m->version, m->name, (long long)time(NULL));
	if (dbx_pg_exec(db, "BEGIN") != 0 ||
	    dbx_pg_exec(db, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK_KEY ")") != 0 ||
	    dbx_pg_exec(db, create_version_table) != 0) {
		snprintf(err, errlen, "migration %s: cannot lock the database: %s", m->name, db->err);
		goto fail;
	}
	current = pg_schema_version(pg, err, errlen);
	if (current < 0)
		goto fail;
	if (current >= m->version) {
		dbx_rollback(db);
		return 0;
	}
	if (dbx_pg_exec(db, m->sql) != 0) {
		snprintf(err, errlen, "migration %s failed: %s", m->name, db->err);
		goto fail;
	}
	if (dbx_pg_exec(db, record) != 0 || dbx_pg_exec(db, "COMMIT") != 0) {
		snprintf(err, errlen, "migration %s: cannot record the version: %s", m->name,
			 db->err);
		goto fail;
	}
	return 0;
fail:
	dbx_rollback(db);
	return -1;
}

int pg_migrate(struct dbx *db, char *err, size_t errlen)
{
	int current = pg_schema_version((PGconn *)db->pg, err, errlen);
	int latest = pg_latest_version();

	if (current < 0)
		return -1;
	/* Built from the same numbers as sql/ (tests/unit/test_dbx.c checks both lists). */
	if (latest != db_latest_version()) {
		snprintf(err, errlen, "this periscope's PostgreSQL schema (%d) lags its SQLite "
			 "schema (%d): a migration is missing from sql/pg/", latest,
			 db_latest_version());
		return -1;
	}
	if (db_refuse_newer_schema(current, latest, err, errlen) != 0)
		return -1;
	for (size_t i = 0; i < pg_migrations_count; i++) {
		if (pg_migrations[i].version <= current)
			continue;
		if (apply(db, &pg_migrations[i], err, errlen) != 0)
			return -1;
	}
	return 0;
}
