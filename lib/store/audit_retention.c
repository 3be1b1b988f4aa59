#include "store/audit_retention.h"

#include <string.h>
#include <sys/stat.h>

static long long file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (long long)sb.st_size : 0;
}

static int exec_count(sqlite3 *db, const char *sql, long long a, long long *changed)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, a);
	if (sqlite3_step(st) == SQLITE_DONE) {
		*changed = sqlite3_changes(db);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

static long long row_count(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	long long n = -1;

	if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM audit_events", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

int audit_retention_run(sqlite3 *db, const char *db_path, int retention_days, int max_size_mb,
			long long now_ns, struct retention_result *out)
{
	long long cap = (long long)max_size_mb * 1024 * 1024;

	memset(out, 0, sizeof *out);
	out->size_before = file_size(db_path);
	if (retention_days > 0) {
		long long cutoff = now_ns - (long long)retention_days * 86400LL * 1000000000LL;
		if (exec_count(db, "DELETE FROM audit_events WHERE ts_unix_nano < ?", cutoff,
			       &out->deleted_by_age) != 0)
			return -1;
	}
	if (cap > 0 && out->size_before > cap) {
		long long n = row_count(db), victims;
		double excess = (double)(out->size_before - cap) / (double)out->size_before;

		if (n < 0)
			return -1;
		victims = (long long)((double)n * excess * 1.1);
		if (victims < 1)
			victims = 1;
		if (victims > n)
			victims = n;
		if (n > 0 &&
		    exec_count(db,
			       "DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events"
			       " ORDER BY ts_unix_nano ASC, id ASC LIMIT ?)",
			       victims, &out->deleted_by_size) != 0)
			return -1;
	}
	if (out->deleted_by_age + out->deleted_by_size > 0) {
		if (sqlite3_exec(db, "VACUUM", NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL) != SQLITE_OK)
			return -1;
	}
	out->size_after = file_size(db_path);
	return 0;
}
