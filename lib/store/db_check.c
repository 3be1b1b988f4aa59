#include "store/db_check.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "store/db.h"
#include "store/pg_conn.h"

/* The version against ours: a newer schema is refused at open, so it is a failure here. */
static int judge(const char *where, int version, char *line, size_t len)
{
	int latest = db_latest_version();

	if (version > latest) {
		snprintf(line, len, "%s: schema version %d, newer than this periscope knows (%d): "
			 "upgrade periscope or restore a backup", where, version, latest);
		return -1;
	}
	snprintf(line, len, "%s: schema version %d (this periscope: %d%s)", where, version,
		 latest, version < latest ? ", migrates at start" : "");
	return 0;
}

/* Read-only, so that checking never creates or migrates the file. */
static int check_sqlite(const char *path, char *line, size_t len)
{
	char where[1100];
	sqlite3 *db = NULL;
	struct stat sb;
	int version, rc = -1;

	snprintf(where, sizeof where, "sqlite %s", path);
	if (stat(path, &sb) != 0 && errno == ENOENT) {
		snprintf(line, len, "%s: not created yet (created at first start with schema "
			 "version %d)", where, db_latest_version());
		return 0;
	}
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		snprintf(line, len, "%s: cannot open: %s", where,
			 db ? sqlite3_errmsg(db) : "out of memory");
		goto done;
	}
	sqlite3_busy_timeout(db, DB_BUSY_TIMEOUT_MS);
	version = db_schema_version(db);
	if (version < 0) {
		snprintf(line, len, "%s: cannot read the schema version: %s", where,
			 sqlite3_errmsg(db));
		goto done;
	}
	rc = judge(where, version, line, len);
done:
	sqlite3_close(db);
	return rc;
}

static int check_postgres(const struct database_config *d, char *line, size_t len)
{
	char where[1100], why[512];
	PGconn *pg = NULL;
	int version, rc = -1;

	/* The URL holds no password (config_database.c refuses one). */
	snprintf(where, sizeof where, "postgres %s", d->url);
	if (pg_connect(d->url, d->password, &pg, why, sizeof why) != 0) {
		snprintf(line, len, "%s: NOT REACHABLE: %s", where, why);
		goto done;
	}
	version = pg_schema_version(pg, why, sizeof why);
	if (version < 0) {
		snprintf(line, len, "%s: %s", where, why);
		goto done;
	}
	rc = judge(where, version, line, len);
done:
	PQfinish(pg);
	return rc;
}

int db_check(const struct config *cfg, char *line, size_t len)
{
	if (cfg->database.engine == DATABASE_POSTGRES)
		return check_postgres(&cfg->database, line, len);
	return check_sqlite(cfg->audit.db_path, line, len);
}
