/* GET /api/audit's unfiltered offset without stepping over the skipped rows: the
 * per-bucket row counts of sql/015_audit_ts_buckets.sql say which 69 s span of time holds
 * the offset-th row, newest first, so the query starts at that span's end and steps over
 * that span's newer rows only. */
#ifndef PERISCOPE_AUDIT_SEEK_H
#define PERISCOPE_AUDIT_SEEK_H

struct dbx;

/* Below this offset, stepping over the rows costs less than walking the buckets. */
#define AUDIT_SEEK_MIN_OFFSET 2000

enum audit_seek_result {
	AUDIT_SEEK_FOUND,     /* *ts_max and *rest are set */
	AUDIT_SEEK_PAST_END,  /* the log has no more than offset rows */
	AUDIT_SEEK_UNKNOWN,   /* the counts of two spans disagree: step over the rows instead */
	AUDIT_SEEK_ERROR,     /* a database error (dbx_errmsg) */
};

/* The offset-th row (0-based) of the log newest first, by (ts_unix_nano, id), is the
 * rest-th row newest first among the rows with ts_unix_nano <= *ts_max. Read in the caller's
 * transaction: the counts and the rows must be one snapshot. */
enum audit_seek_result audit_seek_offset(struct dbx *db, long long offset, long long *ts_max,
					 long long *rest);

#endif
