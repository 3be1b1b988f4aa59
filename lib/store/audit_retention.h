/* Audit retention, as the reference does it: delete rows older than retentionDays; then,
 * if the database file is larger than maxSizeMB, delete the oldest share of rows that
 * brings it under the cap (with 10% slack); if anything went, VACUUM and truncate the WAL
 * so the file really shrinks. */
#ifndef PERISCOPE_AUDIT_RETENTION_H
#define PERISCOPE_AUDIT_RETENTION_H

#include <sqlite3.h>

struct retention_result {
	long long deleted_by_age;
	long long deleted_by_size;
	long long size_before;
	long long size_after;
};

int audit_retention_run(sqlite3 *db, const char *db_path, int retention_days, int max_size_mb,
			long long now_ns, struct retention_result *out);

#endif
