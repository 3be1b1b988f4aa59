#include "store/audit_retention.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "metrics/metrics_store.h"
#include "store/audit_chain.h"
#include "store/db.h"

static long long file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (long long)sb.st_size : 0;
}

int audit_usage_get(sqlite3 *db, long long *bytes, long long *rows)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	*bytes = 0;
	*rows = 0;
	if (sqlite3_prepare_v2(db, "SELECT bytes, rows FROM audit_usage WHERE id = 1", -1, &st,
			       NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*bytes = sqlite3_column_int64(st, 0);
		*rows = sqlite3_column_int64(st, 1);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

/* The largest id that may go, from a query answering one id (or NULL: none), in *last. */
static int query_id(sqlite3 *db, const char *sql, long long arg, long long *last)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	*last = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, arg);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*last = sqlite3_column_int64(st, 0);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

/* Deletes the rows with id <= last, in one transaction with the chain's anchor moving to
 * row last (store/audit_chain.h), so the chain still verifies from the rows kept, and with
 * periscope_audit_retention_deleted_total{cause} (cause: "age" or "size") counting them. */
static int delete_through(sqlite3 *db, long long last, const char *cause, long long *deleted)
{
	sqlite3_stmt *st = NULL;
	char *labels = NULL;

	*deleted = 0;
	if (last <= 0)
		return 0;
	if (db_begin_immediate(db) != 0)
		return -1;
	if (audit_chain_advance_anchor(db, last) != 0 ||
	    sqlite3_prepare_v2(db, "DELETE FROM audit_events WHERE id <= ?", -1, &st, NULL) !=
		    SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(st, 1, last);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto fail;
	*deleted = sqlite3_changes(db);
	sqlite3_finalize(st);
	st = NULL;
	labels = metrics_labels("cause", cause, NULL);
	if (!labels || metrics_counter_add(db, METRIC_RETENTION_DELETED, labels, *deleted) != 0 ||
	    db_commit(db) != 0)
		goto fail;
	free(labels);
	return 0;
fail:
	free(labels);
	sqlite3_finalize(st);
	db_rollback(db);
	return -1;
}

int audit_retention_run(sqlite3 *db, const char *db_path, int retention_days, int max_size_mb,
			long long now_ns, struct retention_result *out)
{
	/* The last id of the oldest run of rows all older than the cutoff. */
	static const char by_age_sql[] =
		"SELECT coalesce((SELECT min(id) FROM audit_events WHERE ts_unix_nano >= ?1),"
		" (SELECT max(id) + 1 FROM audit_events), 1) - 1";
	/* The last id of the shortest oldest run whose bytes cover the excess. */
	static const char by_size_sql[] =
		"SELECT id FROM (SELECT id, sum(bytes) OVER (ORDER BY id) AS run FROM audit_row_bytes)"
		" WHERE run >= ?1 ORDER BY id LIMIT 1";
	long long rows, last;

	memset(out, 0, sizeof *out);
	out->size_before = file_size(db_path);
	out->budget_bytes = (long long)max_size_mb * 1024 * 1024;
	if (audit_usage_get(db, &out->audit_bytes_before, &rows) != 0)
		return -1;
	if (retention_days > 0) {
		long long cutoff = now_ns - (long long)retention_days * 86400LL * 1000000000LL;
		if (query_id(db, by_age_sql, cutoff, &last) != 0 ||
		    delete_through(db, last, "age", &out->deleted_by_age) != 0)
			return -1;
	}
	if (audit_usage_get(db, &out->audit_bytes_after, &rows) != 0)
		return -1;
	if (retention_days == 0 && out->budget_bytes > 0 &&
	    out->audit_bytes_after > out->budget_bytes) {
		if (query_id(db, by_size_sql, out->audit_bytes_after - out->budget_bytes, &last) != 0 ||
		    delete_through(db, last, "size", &out->deleted_by_size) != 0 ||
		    audit_usage_get(db, &out->audit_bytes_after, &rows) != 0)
			return -1;
	}
	out->budget_reached = out->budget_bytes > 0 && out->audit_bytes_after >= out->budget_bytes;
	if (out->deleted_by_age + out->deleted_by_size > 0) {
		if (sqlite3_exec(db, "VACUUM", NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL) != SQLITE_OK)
			return -1;
	}
	out->size_after = file_size(db_path);
	return 0;
}
