/* The dispatch of dbx.h, and its SQLite side: the same sqlite3 calls the store modules made
 * before they were ported, on the same handle. */
#include "store/dbx.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/dbx_internal.h"
#include "store/pg_conn.h"

#define SQLITE_PREFIX "sqlite:"

int dbx_open(const char *url, const char *password, struct dbx **out, char *err,
	     size_t errlen)
{
	struct dbx *db = calloc(1, sizeof *db);

	*out = NULL;
	if (!db) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	db->owned = true;
	if (strncmp(url, SQLITE_PREFIX, strlen(SQLITE_PREFIX)) == 0) {
		db->engine = DBX_SQLITE;
		if (db_open(url + strlen(SQLITE_PREFIX), &db->lite, err, errlen) != 0)
			goto fail;
	} else {
		db->engine = DBX_POSTGRES;
		if (dbx_pg_open(url, password, db, err, errlen) != 0 ||
		    pg_migrate(db, err, errlen) != 0)
			goto fail;
	}
	*out = db;
	return 0;
fail:
	dbx_close(db);
	return -1;
}

void dbx_close(struct dbx *db)
{
	if (!db)
		return;
	if (db->owned) {
		db_close(db->lite);
		PQfinish((PGconn *)db->pg);
		free(db);
	}
}

void dbx_borrow_sqlite(struct dbx *db, sqlite3 *lite)
{
	memset(db, 0, sizeof *db);
	db->engine = DBX_SQLITE;
	db->lite = lite;
}

const char *dbx_sql(const struct dbx *db, const char *sqlite_sql, const char *pg_sql)
{
	return db->engine == DBX_POSTGRES && pg_sql ? pg_sql : sqlite_sql;
}

const char *dbx_errmsg(struct dbx *db)
{
	return db->engine == DBX_SQLITE ? sqlite3_errmsg(db->lite) : db->err;
}

int dbx_ping(struct dbx *db)
{
	struct dbx_stmt *st = NULL;
	int rc = -1;

	if (dbx_prepare(db, "SELECT 1", &st) == 0 && dbx_step(st) == DBX_ROW)
		rc = 0;
	dbx_finalize(st);
	return rc;
}

int dbx_schema_version(struct dbx *db)
{
	char err[256];

	if (db->engine == DBX_SQLITE)
		return db_schema_version(db->lite);
	/* A broken connection is made again by the ping first (pg_schema_version is plain
	 * libpq). */
	if (dbx_ping(db) != 0)
		return -1;
	return pg_schema_version((PGconn *)db->pg, err, sizeof err);
}

static int exec_plain(struct dbx *db, const char *sql)
{
	if (db->engine == DBX_SQLITE)
		return sqlite3_exec(db->lite, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
	return dbx_pg_exec(db, sql);
}

int dbx_begin_write(struct dbx *db)
{
	if (db->engine == DBX_SQLITE)
		return db_begin_immediate(db->lite);
	/* Starting anew gives up a transaction lost with its connection. */
	db->tx_lost = false;
	return exec_plain(db, "BEGIN");
}

int dbx_begin_read(struct dbx *db)
{
	if (db->engine == DBX_SQLITE)
		return exec_plain(db, "BEGIN");
	db->tx_lost = false;
	return exec_plain(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
}

int dbx_commit(struct dbx *db)
{
	return exec_plain(db, "COMMIT");
}

void dbx_rollback(struct dbx *db)
{
	if (db->engine == DBX_SQLITE)
		db_rollback(db->lite);
	else
		dbx_pg_rollback(db);
}

bool dbx_in_transaction(struct dbx *db)
{
	if (db->engine == DBX_SQLITE)
		return sqlite3_get_autocommit(db->lite) == 0;
	/* A transaction lost with its connection is still the caller's until it rolls back. */
	return db->tx_lost || dbx_pg_in_transaction(db);
}

int dbx_exec(struct dbx *db, const char *sql)
{
	return exec_plain(db, sql);
}

static int prepare(struct dbx *db, const char *sql, bool kept, struct dbx_stmt **out)
{
	struct dbx_stmt *st = calloc(1, sizeof *st);
	int rc;

	*out = NULL;
	if (!st)
		return -1;
	st->db = db;
	if (db->engine == DBX_SQLITE) {
		st->kept = kept;
		rc = kept ? db_prepare_kept(db->lite, sql, &st->lite)
			  : (sqlite3_prepare_v2(db->lite, sql, -1, &st->lite, NULL) == SQLITE_OK
				     ? 0 : -1);
		if (rc == 0)
			st->nparams = sqlite3_bind_parameter_count(st->lite);
	} else {
		rc = dbx_pg_prepare(st, sql);
	}
	if (rc != 0) {
		dbx_finalize(st);
		return -1;
	}
	*out = st;
	return 0;
}

int dbx_prepare(struct dbx *db, const char *sql, struct dbx_stmt **out)
{
	return prepare(db, sql, false, out);
}

int dbx_prepare_kept(struct dbx *db, const char *sql, struct dbx_stmt **out)
{
	return prepare(db, sql, true, out);
}

int dbx_param_count(const struct dbx_stmt *st)
{
	return st->nparams;
}

int dbx_bind_text(struct dbx_stmt *st, int idx, const char *s)
{
	if (!s)
		return dbx_bind_null(st, idx);
	if (st->db->engine == DBX_SQLITE)
		return sqlite3_bind_text(st->lite, idx, s, -1, SQLITE_STATIC) == SQLITE_OK ? 0 : -1;
	return dbx_pg_bind(st, idx, s, 0, 0, 25 /* text */);
}

int dbx_bind_text_or_null(struct dbx_stmt *st, int idx, const char *s)
{
	if (st->db->engine == DBX_SQLITE)
		return db_bind_text_or_null(st->lite, idx, s);
	return dbx_bind_text(st, idx, s && *s ? s : NULL);
}

int dbx_bind_int64(struct dbx_stmt *st, int idx, long long v)
{
	if (st->db->engine == DBX_SQLITE)
		return sqlite3_bind_int64(st->lite, idx, v) == SQLITE_OK ? 0 : -1;
	if (idx < 1 || idx > st->nparams)
		return -1;
	snprintf(st->pg.ints[idx - 1], sizeof st->pg.ints[idx - 1], "%lld", v);
	return dbx_pg_bind(st, idx, st->pg.ints[idx - 1], 0, 0, 20 /* int8 */);
}

int dbx_bind_blob(struct dbx_stmt *st, int idx, const void *p, size_t len)
{
	if (len > (size_t)0x7fffffff)
		return -1;
	if (st->db->engine == DBX_SQLITE)
		return sqlite3_bind_blob(st->lite, idx, p, (int)len, SQLITE_STATIC) == SQLITE_OK
			       ? 0 : -1;
	return dbx_pg_bind(st, idx, p, (int)len, 1, 17 /* bytea */);
}

int dbx_bind_null(struct dbx_stmt *st, int idx)
{
	if (st->db->engine == DBX_SQLITE)
		return sqlite3_bind_null(st->lite, idx) == SQLITE_OK ? 0 : -1;
	return dbx_pg_bind(st, idx, NULL, 0, 0, 0);
}

enum dbx_step dbx_step(struct dbx_stmt *st)
{
	int rc;

	if (st->db->engine == DBX_POSTGRES)
		return dbx_pg_step(st);
	rc = sqlite3_step(st->lite);
	return rc == SQLITE_ROW ? DBX_ROW : rc == SQLITE_DONE ? DBX_DONE : DBX_ERROR;
}

long long dbx_changes(struct dbx_stmt *st)
{
	if (st->db->engine == DBX_POSTGRES)
		return dbx_pg_changes(st);
	return sqlite3_changes(st->db->lite);
}

bool dbx_column_is_null(struct dbx_stmt *st, int col)
{
	if (st->db->engine == DBX_SQLITE)
		return sqlite3_column_type(st->lite, col) == SQLITE_NULL;
	return PQgetisnull(st->pg.res, st->pg.row, col) != 0;
}

const char *dbx_column_text(struct dbx_stmt *st, int col)
{
	if (st->db->engine == DBX_SQLITE)
		return (const char *)sqlite3_column_text(st->lite, col);
	return dbx_column_is_null(st, col) ? NULL : PQgetvalue(st->pg.res, st->pg.row, col);
}

long long dbx_column_int64(struct dbx_stmt *st, int col)
{
	const char *t;

	if (st->db->engine == DBX_SQLITE)
		return sqlite3_column_int64(st->lite, col);
	t = dbx_column_text(st, col);
	return t ? strtoll(t, NULL, 10) : 0;
}

const void *dbx_column_blob(struct dbx_stmt *st, int col, size_t *len)
{
	const void *p;

	if (st->db->engine == DBX_POSTGRES)
		return dbx_pg_column_blob(st, col, len);
	/* SQLite's order: the pointer first, then its size. */
	p = sqlite3_column_blob(st->lite, col);
	*len = (size_t)sqlite3_column_bytes(st->lite, col);
	return p;
}

char *dbx_column_strdup(struct dbx_stmt *st, int col)
{
	const char *t = dbx_column_text(st, col);

	return t ? strdup(t) : NULL;
}

void dbx_finalize(struct dbx_stmt *st)
{
	if (!st)
		return;
	if (st->db->engine == DBX_SQLITE) {
		if (st->kept)
			db_stmt_done(st->lite);
		else
			sqlite3_finalize(st->lite);
	} else {
		dbx_pg_finalize(st);
	}
	free(st);
}

/* One argument of dbx_run, taken from ap whether it is bound or not. */
static int bind_next(struct dbx_stmt *st, int idx, char type, va_list *ap, bool bind)
{
	const char *text;
	long long n;

	switch (type) {
	case 't':
	case 'n':
		text = va_arg(*ap, const char *);
		if (!bind)
			return 0;
		return type == 't' ? dbx_bind_text(st, idx, text)
				   : dbx_bind_text_or_null(st, idx, text);
	case 'i':
		n = va_arg(*ap, long long);
		return bind ? dbx_bind_int64(st, idx, n) : 0;
	default:
		return -1;
	}
}

int dbx_run(struct dbx *db, const char *sql, long long *changed, const char *types, ...)
{
	struct dbx_stmt *st = NULL;
	int rc = -1, nparams;
	va_list ap;

	if (changed)
		*changed = 0;
	if (dbx_prepare(db, sql, &st) != 0)
		return -1;
	nparams = dbx_param_count(st);
	va_start(ap, types);
	for (int i = 0; types[i]; i++)
		if (bind_next(st, i + 1, types[i], &ap, i < nparams) != 0)
			goto done;
	if (dbx_step(st) != DBX_DONE)
		goto done;
	if (changed)
		*changed = dbx_changes(st);
	rc = 0;
done:
	va_end(ap);
	dbx_finalize(st);
	return rc;
}
