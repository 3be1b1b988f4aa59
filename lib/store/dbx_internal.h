/* What dbx.c (the dispatch and SQLite) and dbx_pg.c (libpq) share. */
#ifndef PERISCOPE_DBX_INTERNAL_H
#define PERISCOPE_DBX_INTERNAL_H

#include <libpq-fe.h>

#include "store/dbx.h"

/* A PostgreSQL statement: the translated SQL, the bindings, the result being read. */
struct dbx_pg_stmt {
	char *sql;                           /* with $N placeholders */
	const char *values[DBX_MAX_PARAMS];
	int lengths[DBX_MAX_PARAMS];
	int formats[DBX_MAX_PARAMS];         /* 1 = binary (blobs) */
	Oid types[DBX_MAX_PARAMS];
	char ints[DBX_MAX_PARAMS][24];       /* the text of bound integers */
	PGresult *res;
	int row;                             /* the current row; -1 before the first step */
	unsigned char *blob;                 /* the last column unescaped from bytea */
};

struct dbx_stmt {
	struct dbx *db;
	int nparams;
	bool kept;                           /* SQLite: give back with db_stmt_done */
	sqlite3_stmt *lite;
	struct dbx_pg_stmt pg;
};

/* dbx_pg.c */
int dbx_pg_open(const char *conninfo, const char *password, struct dbx *db, char *err,
		size_t errlen);
int dbx_pg_exec(struct dbx *db, const char *sql);
int dbx_pg_prepare(struct dbx_stmt *st, const char *sql);
int dbx_pg_bind(struct dbx_stmt *st, int idx, const char *value, int len, int format, Oid type);
enum dbx_step dbx_pg_step(struct dbx_stmt *st);
long long dbx_pg_changes(struct dbx_stmt *st);
const void *dbx_pg_column_blob(struct dbx_stmt *st, int col, size_t *len);
void dbx_pg_finalize(struct dbx_stmt *st);
bool dbx_pg_in_transaction(struct dbx *db);
/* Gives up the transaction: ROLLBACK, or forgets one lost with its connection. */
void dbx_pg_rollback(struct dbx *db);

/* pg_migrate.c: applies sql/pg/ (embedded as pg_migrations) under an advisory lock. */
int pg_migrate(struct dbx *db, char *err, size_t errlen);

#endif
