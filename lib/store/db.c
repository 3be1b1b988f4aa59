#include "store/db.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/migrations.h"

int db_latest_version(void)
{
	int latest = 0;

	for (size_t i = 0; i < migrations_count; i++)
		if (migrations[i].version > latest)
			latest = migrations[i].version;
	return latest;
}

int db_refuse_newer_schema(int current, int latest, char *err, size_t errlen)
{
	if (current <= latest)
		return 0;
	snprintf(err, errlen,
		 "the database has schema version %d but this periscope knows only up to %d: "
		 "it was written by a newer periscope; upgrade periscope or restore a backup",
		 current, latest);
	return -1;
}

int db_schema_version(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int version = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return version;
}

int db_begin_immediate(sqlite3 *db)
{
	return sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

int db_try_begin_immediate(sqlite3 *db)
{
	int rc;

	sqlite3_busy_timeout(db, 0);
	rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	sqlite3_busy_timeout(db, DB_BUSY_TIMEOUT_MS);
	return rc == SQLITE_OK ? 0 : rc == SQLITE_BUSY ? 1 : -1;
}

int db_commit(sqlite3 *db)
{
	return sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

void db_rollback(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

static int apply_migration(sqlite3 *db, const struct migration *m, char *err, size_t errlen)
{
	char *msg = NULL;
	char pragma[64];
	int current;

	if (db_begin_immediate(db) != 0) {
		snprintf(err, errlen, "migration %s: cannot lock the database: %s", m->name,
			 sqlite3_errmsg(db));
		return -1;
	}
	/* Another process may have migrated while we waited for the lock. */
	current = db_schema_version(db);
	if (current >= m->version) {
		db_rollback(db);
		return 0;
	}
	if (sqlite3_exec(db, m->sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "migration %s failed: %s", m->name, msg ? msg : "?");
		goto fail;
	}
	snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", m->version);
	if (sqlite3_exec(db, pragma, NULL, NULL, &msg) != SQLITE_OK || db_commit(db) != 0) {
		snprintf(err, errlen, "migration %s: cannot record the version: %s", m->name,
			 msg ? msg : sqlite3_errmsg(db));
		goto fail;
	}
	return 0;
fail:
	sqlite3_free(msg);
	db_rollback(db);
	return -1;
}

int db_migrate(sqlite3 *db, char *err, size_t errlen)
{
	int current = db_schema_version(db), latest = db_latest_version();

	if (current < 0) {
		snprintf(err, errlen, "cannot read the schema version: %s", sqlite3_errmsg(db));
		return -1;
	}
	if (db_refuse_newer_schema(current, latest, err, errlen) != 0)
		return -1;
	for (size_t i = 0; i < migrations_count; i++) {
		if (migrations[i].version <= current)
			continue;
		if (apply_migration(db, &migrations[i], err, errlen) != 0)
			return -1;
	}
	return 0;
}

/* Creates the database file with mode 0600 (SQLite gives -wal and -shm the same mode), but
 * only when it does not exist yet: close() on any descriptor of a file drops every POSIX
 * lock the process holds on it, including those of open SQLite connections in other
 * threads, and that corrupts databases. A file that did not exist has no such locks. */
static int ensure_private_file(const char *path, char *err, size_t errlen)
{
	int fd;

	if (access(path, F_OK) == 0)
		return 0;
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			return 0; /* another thread or process created it meanwhile */
		snprintf(err, errlen, "cannot create database %s: %s", path, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

int db_open(const char *path, sqlite3 **out, char *err, size_t errlen)
{
	static const char pragmas[] = "PRAGMA journal_mode = WAL;"
				      "PRAGMA synchronous = NORMAL;"
				      "PRAGMA foreign_keys = ON;"
				      "PRAGMA wal_autocheckpoint = 1000;";
	sqlite3 *db = NULL;
	char *msg = NULL;

	*out = NULL;
	if (strcmp(path, ":memory:") != 0 && ensure_private_file(path, err, errlen) != 0)
		return -1;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
					       SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open database %s: %s", path,
			 db ? sqlite3_errmsg(db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(db, DB_BUSY_TIMEOUT_MS);
	if (sqlite3_exec(db, pragmas, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "database %s: %s", path, msg ? msg : sqlite3_errmsg(db));
		goto fail;
	}
	if (db_migrate(db, err, errlen) != 0)
		goto fail;
	*out = db;
	return 0;
fail:
	sqlite3_free(msg);
	sqlite3_close(db);
	return -1;
}

void db_close(sqlite3 *db)
{
	sqlite3_stmt *st;

	/* The statements kept by db_prepare_kept live as long as the connection. */
	while (db && (st = sqlite3_next_stmt(db, NULL)) != NULL)
		sqlite3_finalize(st);
	sqlite3_close(db);
}

int db_prepare_kept(sqlite3 *db, const char *sql, sqlite3_stmt **out)
{
	for (sqlite3_stmt *st = sqlite3_next_stmt(db, NULL); st; st = sqlite3_next_stmt(db, st)) {
		const char *text = sqlite3_sql(st);
		if (!sqlite3_stmt_busy(st) && text && strcmp(text, sql) == 0) {
			*out = st;
			return 0;
		}
	}
	return sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL) == SQLITE_OK
		       ? 0
		       : -1;
}

void db_stmt_done(sqlite3_stmt *st)
{
	if (st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
}

int db_bind_text_or_null(sqlite3_stmt *st, int idx, const char *s)
{
	if (!s || !*s)
		return sqlite3_bind_null(st, idx) == SQLITE_OK ? 0 : -1;
	return sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT) == SQLITE_OK ? 0 : -1;
}

char *db_column_strdup(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return t ? strdup((const char *)t) : NULL;
}
