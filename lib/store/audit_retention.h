/* Audit retention. The audit rows are measured by their own bytes (the audit_usage row that
 * triggers keep, sql/004_audit_budget.sql), never by the database file, which also holds
 * what strangers can store (login attempts, bounded on their own: store/login_attempts.h).
 *
 * - Age: rows older than retentionDays go, as the oldest run of ids (a row written with an
 *   older timestamp after a younger one waits for it), so the table always keeps a
 *   contiguous tail of the log.
 * - Size (maxSizeMB, the audit budget): with retentionDays set, rows younger than it are
 *   never deleted for size: the budget is then reached, and that is reported (budget_reached,
 *   the caller logs it and /api/health says degraded) for the operator to decide. With
 *   retentionDays 0 (no age promise) the oldest rows go until the rest fit.
 * If anything went, VACUUM gives the space back to the file system (PostgreSQL: VACUUM
 * audit_events makes it reusable; the sizes are pg_database_size). On PostgreSQL each
 * deletion decides its range after locking the chain's row, which writers on other
 * replicas hold while they append, so a row being written is never in it. */
#ifndef PERISCOPE_AUDIT_RETENTION_H
#define PERISCOPE_AUDIT_RETENTION_H

#include <stdbool.h>
#include <sqlite3.h>

struct retention_result {
	long long deleted_by_age;
	long long deleted_by_size;
	long long audit_bytes_before;   /* the audit rows' own bytes */
	long long audit_bytes_after;
	long long budget_bytes;         /* maxSizeMB in bytes; 0 = no budget */
	bool budget_reached;            /* audit_bytes_after >= budget_bytes > 0 */
	long long size_before;          /* the database file, for the log line */
	long long size_after;
};

int audit_retention_run(sqlite3 *db, const char *db_path, int retention_days, int max_size_mb,
			long long now_ns, struct retention_result *out);

/* The audit rows' own bytes and count. 0 or -1. */
int audit_usage_get(sqlite3 *db, long long *bytes, long long *rows);

/* The same on either engine (store/dbx.h). On PostgreSQL db_path is not used: the sizes
 * are the database's (pg_database_size). */
struct dbx;
int audit_retention_run_dbx(struct dbx *db, const char *db_path, int retention_days,
			    int max_size_mb, long long now_ns, struct retention_result *out);
int audit_usage_get_dbx(struct dbx *db, long long *bytes, long long *rows);

#endif
