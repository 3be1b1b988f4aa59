/* Moving an installation from SQLite to PostgreSQL (docs/deployment.md "From SQLite to
 * PostgreSQL"): every table of the SQLite file, row by row, into the PostgreSQL database,
 * ids and hashes as they are, in one transaction. */
#ifndef PERISCOPE_DB_COPY_H
#define PERISCOPE_DB_COPY_H

#include <stddef.h>

#include "store/dbx.h"

/* Called after each table: its name and the rows copied. */
typedef void (*db_copy_progress)(void *arg, const char *table, long long rows);

/* Copies the SQLite database at sqlite_path (opened read-only; its schema must be this
 * periscope's latest: start periscope on it once to migrate it) into target, a PostgreSQL
 * connection already migrated to the same version (dbx_open). Refused when the target
 * already holds audit events or login sessions (a database in use). Inside one transaction,
 * each table's rows are replaced by the source's with the target's triggers held off
 * (the bookkeeping they would do is copied as it is), identity sequences are moved past the
 * copied ids, and each table's row count is compared with the source's. 0, or -1 with the
 * reason in err (nothing copied then). */
int db_copy_from_sqlite(const char *sqlite_path, struct dbx *target, db_copy_progress progress,
			void *arg, char *err, size_t errlen);

#endif
