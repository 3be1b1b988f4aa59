/* One storage interface, two engines: the store modules (lib/store/) speak to SQLite (one
 * machine) or PostgreSQL (several replicas) through this layer, with SQL written once in
 * SQLite's dialect (`?` and `?N` placeholders) and a PostgreSQL text only where the
 * dialects differ (dbx_sql). docs/HACKING.md "Storage engines" tells how to port a module.
 *
 * On SQLite every call is the sqlite3 call the modules made before, on the same handle, so
 * a ported module behaves byte for byte as it did. On PostgreSQL, placeholders become $N,
 * integers are bound as int8, blobs as bytea (binary), text as text; results are read in
 * text form (bytea unescaped). */
#ifndef PERISCOPE_DBX_H
#define PERISCOPE_DBX_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

struct pg_conn; /* libpq's PGconn */

enum dbx_engine { DBX_SQLITE, DBX_POSTGRES };

/* A connection. One per thread, like a sqlite3 handle. */
struct dbx {
	enum dbx_engine engine;
	sqlite3 *lite;
	struct pg_conn *pg;
	bool owned;          /* dbx_close closes the handle (not when borrowed) */
	char err[512];       /* PostgreSQL: the last error, one line */
	/* PostgreSQL: the connection broke inside a transaction. Every statement fails until
	 * dbx_rollback (or the next dbx_begin_write) gives the transaction up; only then is
	 * the connection made again, so a half-done transaction is never silently continued
	 * on a new one. */
	bool tx_lost;
	/* PostgreSQL: how many times the connection was made again (PQreset) after it broke
	 * (a server restart, a failover). Session state (LISTEN, session-level settings) does
	 * not survive it: a module that keeps some compares this count and sets it again. */
	unsigned long reconnects;
};

/* The most parameters a statement may have. */
#define DBX_MAX_PARAMS 32

enum dbx_step { DBX_ROW, DBX_DONE, DBX_ERROR };

struct dbx_stmt;

/* Opens url: "sqlite:PATH" (db_open: created 0600, WAL, migrated) or a postgres:// URI /
 * libpq connection string (connected, then migrated from sql/pg/). password: PostgreSQL's,
 * NULL or "" for none. A schema newer than this build's is refused on both. 0, or -1 with
 * err. Free with dbx_close. */
int dbx_open(const char *url, const char *password, struct dbx **out, char *err,
	     size_t errlen);
void dbx_close(struct dbx *db);
/* Wraps a handle the caller keeps (the sqlite3 * of the modules not ported yet). */
void dbx_borrow_sqlite(struct dbx *db, sqlite3 *lite);

/* The engine's text of one statement: pg when the engine is PostgreSQL and pg is given. */
const char *dbx_sql(const struct dbx *db, const char *sqlite_sql, const char *pg_sql);
/* The last error of the connection, for messages. */
const char *dbx_errmsg(struct dbx *db);

/* Whether the database answers (SELECT 1; on PostgreSQL a broken connection is made again
 * first). 0, or -1 (dbx_errmsg says why). */
int dbx_ping(struct dbx *db);
/* The schema version applied (SQLite's user_version, PostgreSQL's schema_version), or -1. */
int dbx_schema_version(struct dbx *db);

/* A write transaction: SQLite's BEGIN IMMEDIATE (the write lock up front), PostgreSQL's
 * BEGIN (read committed; a module that reads then writes takes row or advisory locks).
 *
 * A broken PostgreSQL connection (server restarted, failover) is made again before the
 * next statement. A statement run outside a transaction that finds the connection broken
 * is sent once more on the new connection (so a read or an autocommit write after a
 * restart succeeds; a write the old server committed just before it died is then applied
 * twice, so a write that must not repeat belongs in a transaction). Inside a
 * transaction nothing is retried: the statement fails, and so does every later one until
 * dbx_rollback; the caller runs the whole transaction again if it wants to. */
int dbx_begin_write(struct dbx *db);
/* A read-only transaction whose statements all see one snapshot of the database: SQLite's
 * BEGIN (deferred: the snapshot is taken by its first read), PostgreSQL's BEGIN ISOLATION
 * LEVEL REPEATABLE READ READ ONLY. Ended by dbx_commit (or dbx_rollback). */
int dbx_begin_read(struct dbx *db);
int dbx_commit(struct dbx *db);
void dbx_rollback(struct dbx *db);
/* Whether a transaction is open on the connection (a module that may be called inside its
 * caller's transaction nests a SAVEPOINT then, as audit_write does). */
bool dbx_in_transaction(struct dbx *db);
/* Runs one statement without parameters and ignores its rows (SAVEPOINT, a lock). 0 or -1. */
int dbx_exec(struct dbx *db, const char *sql);

/* Prepares sql. _kept: on SQLite the statement stays cached on the connection
 * (db_prepare_kept) for the next call with the same SQL. 0, or -1 (dbx_errmsg says why). */
int dbx_prepare(struct dbx *db, const char *sql, struct dbx_stmt **out);
int dbx_prepare_kept(struct dbx *db, const char *sql, struct dbx_stmt **out);
/* How many parameters the statement has (the largest index). */
int dbx_param_count(const struct dbx_stmt *st);

/* Bindings, 1-based like SQLite. The values are not copied: they must live until the
 * statement is stepped the last time. text NULL binds NULL; _or_null binds NULL for "". */
int dbx_bind_text(struct dbx_stmt *st, int idx, const char *s);
int dbx_bind_text_or_null(struct dbx_stmt *st, int idx, const char *s);
int dbx_bind_int64(struct dbx_stmt *st, int idx, long long v);
int dbx_bind_blob(struct dbx_stmt *st, int idx, const void *p, size_t len);
int dbx_bind_null(struct dbx_stmt *st, int idx);

/* Runs the statement (the first call) and moves to the next row. */
enum dbx_step dbx_step(struct dbx_stmt *st);
/* Rows changed by the statement just stepped to DBX_DONE. */
long long dbx_changes(struct dbx_stmt *st);

/* The current row's columns, 0-based. Pointers live until the next step or finalize. */
bool dbx_column_is_null(struct dbx_stmt *st, int col);
const char *dbx_column_text(struct dbx_stmt *st, int col);
long long dbx_column_int64(struct dbx_stmt *st, int col);
const void *dbx_column_blob(struct dbx_stmt *st, int col, size_t *len);
/* A fresh copy of the column's text, NULL for NULL (or no memory). */
char *dbx_column_strdup(struct dbx_stmt *st, int col);

/* Frees the statement (a kept one goes back to the connection's cache). NULL is fine. */
void dbx_finalize(struct dbx_stmt *st);

/* Runs one statement that returns no rows: prepares sql, binds the arguments in order as
 * types spells them ('t' text, 'n' text or NULL for "", 'i' long long), steps it to the end
 * and finalizes it. Arguments past the statement's parameter count are not bound, so one
 * call serves several texts of one statement that use fewer (SQLite's and PostgreSQL's, or
 * one of a table of texts). changed: when not NULL, the rows the statement changed.
 * 0, or -1 (dbx_errmsg says why). */
int dbx_run(struct dbx *db, const char *sql, long long *changed, const char *types, ...);

#endif
