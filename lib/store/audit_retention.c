#include "store/audit_retention.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "metrics/metrics_store.h"
#include "store/audit_chain.h"
#include "store/db.h"
#include "store/dbx.h"

static long long file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (long long)sb.st_size : 0;
}

int audit_usage_get_dbx(struct dbx *db, long long *bytes, long long *rows)
{
	struct dbx_stmt *st = NULL;
	int rc = -1;

	*bytes = 0;
	*rows = 0;
	if (dbx_prepare(db, "SELECT bytes, rows FROM audit_usage WHERE id = 1", &st) != 0)
		return -1;
	if (dbx_step(st) == DBX_ROW) {
		*bytes = dbx_column_int64(st, 0);
		*rows = dbx_column_int64(st, 1);
		rc = 0;
	}
	dbx_finalize(st);
	return rc;
}

int audit_usage_get(sqlite3 *db, long long *bytes, long long *rows)
{
	struct dbx x;

	dbx_borrow_sqlite(&x, db);
	return audit_usage_get_dbx(&x, bytes, rows);
}

/* The largest id that may go, from a query answering one id (or NULL: none), in *last. */
static int query_id(struct dbx *db, const char *sql, long long arg, long long *last)
{
	struct dbx_stmt *st = NULL;
	int rc = -1;

	*last = 0;
	if (dbx_prepare(db, sql, &st) != 0)
		return -1;
	dbx_bind_int64(st, 1, arg);
	switch (dbx_step(st)) {
	case DBX_ROW:
		*last = dbx_column_int64(st, 0);
		rc = 0;
		break;
	case DBX_DONE:
		/* By size, no run covers the excess (rows shrank meanwhile): nothing goes. */
		rc = 0;
		break;
	case DBX_ERROR:
		break;
	}
	dbx_finalize(st);
	return rc;
}

/* Deletes the rows with id <= last, in one transaction with the chain's anchor moving to
 * row last (store/audit_chain.h), so the chain still verifies from the rows kept, and with
 * periscope_audit_retention_deleted_total{cause} (cause: "age" or "size") counting them.
 * last is decided inside the transaction (query_sql, with arg), after the chain's row is
 * locked on PostgreSQL: writers on other replicas append after the head under that lock,
 * so no row can commit below last while retention decides, and a row retention may not
 * erase is never in the range. */
static int delete_through(struct dbx *db, const char *query_sql, long long arg,
			  const char *cause, long long *deleted)
{
	struct dbx_stmt *st = NULL;
	char *labels = NULL, head[AUDIT_HASH_HEX];
	long long last = 0;

	*deleted = 0;
	if (dbx_begin_write(db) != 0)
		return -1;
	if (audit_chain_head_dbx(db, head) != 0 || query_id(db, query_sql, arg, &last) != 0)
		goto fail;
	if (last <= 0) {
		dbx_rollback(db);
		return 0;
	}
	if (audit_chain_advance_anchor_dbx(db, last) != 0 ||
	    dbx_prepare(db, "DELETE FROM audit_events WHERE id <= ?", &st) != 0)
		goto fail;
	dbx_bind_int64(st, 1, last);
	if (dbx_step(st) != DBX_DONE)
		goto fail;
	*deleted = dbx_changes(st);
	dbx_finalize(st);
	st = NULL;
	labels = metrics_labels("cause", cause, NULL);
	if (!labels || metrics_counter_add_dbx(db, METRIC_RETENTION_DELETED, labels, *deleted) != 0 ||
	    dbx_commit(db) != 0)
		goto fail;
	free(labels);
	return 0;
fail:
	free(labels);
	dbx_finalize(st);
	dbx_rollback(db);
	return -1;
}

/* The database's size: the file's on SQLite, pg_database_size on PostgreSQL. */
static long long db_size(struct dbx *db, const char *db_path)
{
	struct dbx_stmt *st = NULL;
	long long size = 0;

	if (db->engine == DBX_SQLITE)
		return db_path ? file_size(db_path) : 0;
	if (dbx_prepare(db, "SELECT pg_database_size(current_database())", &st) == 0 &&
	    dbx_step(st) == DBX_ROW)
		size = dbx_column_int64(st, 0);
	dbx_finalize(st);
	return size;
}

/* Gives the space of the deleted rows back: SQLite's VACUUM returns it to the file system;
 * on PostgreSQL a plain VACUUM of the table makes it reusable (outside a transaction, as
 * PostgreSQL requires). */
static int reclaim(struct dbx *db)
{
	if (db->engine == DBX_POSTGRES)
		return dbx_exec(db, "VACUUM audit_events");
	if (sqlite3_exec(db->lite, "VACUUM", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db->lite, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	return 0;
}

int audit_retention_run_dbx(struct dbx *db, const char *db_path, int retention_days,
			    int max_size_mb, long long now_ns, struct retention_result *out)
{
	/* The last id of the oldest run of rows all older than the cutoff. */
	static const char by_age_sql[] =
		"SELECT coalesce((SELECT min(id) FROM audit_events WHERE ts_unix_nano >= ?1),"
		" (SELECT max(id) + 1 FROM audit_events), 1) - 1";
	/* The last id of the shortest oldest run whose bytes cover the excess. */
	static const char by_size_sql[] =
		"SELECT id FROM (SELECT id, sum(bytes) OVER (ORDER BY id) AS run FROM audit_row_bytes)"
		" AS runs WHERE run >= ?1 ORDER BY id LIMIT 1";
	long long rows;

	memset(out, 0, sizeof *out);
	out->size_before = db_size(db, db_path);
	out->budget_bytes = (long long)max_size_mb * 1024 * 1024;
	if (audit_usage_get_dbx(db, &out->audit_bytes_before, &rows) != 0)
		return -1;
	if (retention_days > 0) {
		long long cutoff = now_ns - (long long)retention_days * 86400LL * 1000000000LL;
		if (delete_through(db, by_age_sql, cutoff, "age", &out->deleted_by_age) != 0)
			return -1;
	}
	if (audit_usage_get_dbx(db, &out->audit_bytes_after, &rows) != 0)
		return -1;
	if (retention_days == 0 && out->budget_bytes > 0 &&
	    out->audit_bytes_after > out->budget_bytes) {
		if (delete_through(db, by_size_sql, out->audit_bytes_after - out->budget_bytes,
				   "size", &out->deleted_by_size) != 0 ||
		    audit_usage_get_dbx(db, &out->audit_bytes_after, &rows) != 0)
			return -1;
	}
	out->budget_reached = out->budget_bytes > 0 && out->audit_bytes_after >= out->budget_bytes;
	if (out->deleted_by_age + out->deleted_by_size > 0 && reclaim(db) != 0)
		return -1;
	out->size_after = db_size(db, db_path);
	return 0;
}

int audit_retention_run(sqlite3 *db, const char *db_path, int retention_days, int max_size_mb,
			long long now_ns, struct retention_result *out)
{
	struct dbx x;

	dbx_borrow_sqlite(&x, db);
	return audit_retention_run_dbx(&x, db_path, retention_days, max_size_mb, now_ns, out);
}
