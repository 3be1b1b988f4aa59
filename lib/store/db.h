/* SQLite: the one shared state of every periscope process (login sessions, live shell
 * sessions for the caps, audit). Opened in WAL mode with a busy timeout; the schema is
 * migrated on open; a database written by a newer periscope is refused. */
#ifndef PERISCOPE_DB_H
#define PERISCOPE_DB_H

#include <sqlite3.h>
#include <stddef.h>

#define DB_BUSY_TIMEOUT_MS 5000

/* Opens (creating with mode 0600 if needed) and migrates. 0 or -1 with err. */
int db_open(const char *path, sqlite3 **out, char *err, size_t errlen);
void db_close(sqlite3 *db);
/* Applies every embedded migration newer than PRAGMA user_version, each in its own
 * transaction. Refuses a database whose version is newer than the newest we know. */
int db_migrate(sqlite3 *db, char *err, size_t errlen);
int db_schema_version(sqlite3 *db);
int db_latest_version(void);
/* A schema newer than this build's (current > latest) is refused on both engines, in these
 * words: fills err and returns -1; 0 otherwise. */
int db_refuse_newer_schema(int current, int latest, char *err, size_t errlen);

/* Transactions. BEGIN IMMEDIATE takes the write lock up front, so a read-then-write
 * (cap admission, refresh claim) cannot be interleaved by another process. */
int db_begin_immediate(sqlite3 *db);
/* BEGIN IMMEDIATE without waiting: 0 begun, 1 another connection holds the write lock
 * right now (nothing begun: try again later), -1 error. For a single-threaded program
 * whose write can wait but whose loop cannot: the busy handler sleeps (1 to 100 ms at a
 * time), and a bridge asleep in it answers no keystroke. */
int db_try_begin_immediate(sqlite3 *db);
int db_commit(sqlite3 *db);
void db_rollback(sqlite3 *db);

/* A prepared statement kept on the connection for the next call with the same SQL:
 * preparing the login-session lookup was half of an API request's instructions (79k a
 * prepare against 6k to run it). Only for a statement used from prepare to db_stmt_done
 * within one function that does not call itself meanwhile: a kept statement is taken as
 * free when it is not busy. Give it back with db_stmt_done, never sqlite3_finalize;
 * db_close finalizes them. 0, or -1 (sqlite3_errmsg says why). */
int db_prepare_kept(sqlite3 *db, const char *sql, sqlite3_stmt **out);
void db_stmt_done(sqlite3_stmt *st);

/* Binds text or NULL when s is NULL or empty (empty strings are stored as NULL). */
int db_bind_text_or_null(sqlite3_stmt *st, int idx, const char *s);
/* Copies column text (NULL → NULL) into a fresh string. */
char *db_column_strdup(sqlite3_stmt *st, int col);

#endif
