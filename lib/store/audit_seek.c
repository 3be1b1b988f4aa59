#include "store/audit_seek.h"

#include "store/dbx.h"

/* The spans of sql/015_audit_ts_buckets.sql, widest first: each is 2^10 of the next, so
 * the buckets under bucket b of one span are b * 1024 .. b * 1024 + 1023 of the next. */
static const int spans[] = { 56, 46, 36 };
#define SPAN_FANOUT 1024LL
#define N_SPANS (sizeof spans / sizeof spans[0])

/* Walks the buckets of one span between lo and hi, newest first, past *rest rows: the
 * bucket holding the row *rest rows down, with *rest then counted from that bucket's
 * newest row. 1 when found, 0 when these buckets hold no more than *rest rows, -1 on
 * error. */
static int walk_span(struct dbx *db, int span, long long lo, long long hi, long long *rest,
		     long long *bucket)
{
	static const char sql[] = "SELECT bucket, rows FROM audit_ts_buckets"
				  " WHERE span = ?1 AND bucket BETWEEN ?2 AND ?3 ORDER BY bucket DESC";
	struct dbx_stmt *st = NULL;
	enum dbx_step step;
	int rc = -1;

	if (dbx_prepare_kept(db, sql, &st) != 0 || dbx_bind_int64(st, 1, span) != 0 ||
	    dbx_bind_int64(st, 2, lo) != 0 || dbx_bind_int64(st, 3, hi) != 0)
		goto done;
	while ((step = dbx_step(st)) == DBX_ROW) {
		long long rows = dbx_column_int64(st, 1);
		if (*rest < rows) {
			*bucket = dbx_column_int64(st, 0);
			rc = 1;
			goto done;
		}
		*rest -= rows;
	}
	if (step == DBX_DONE)
		rc = 0;
done:
	dbx_finalize(st);
	return rc;
}

enum audit_seek_result audit_seek_offset(struct dbx *db, long long offset, long long *ts_max,
					 long long *rest)
{
	/* Every bucket of the widest span: a 64-bit timestamp >> 56 is within +-2^7. */
	long long lo = -(1LL << (63 - spans[0])), hi = (1LL << (63 - spans[0])) - 1, bucket = 0;

	*rest = offset;
	for (size_t i = 0; i < N_SPANS; i++) {
		int found = walk_span(db, spans[i], lo, hi, rest, &bucket);
		if (found < 0)
			return AUDIT_SEEK_ERROR;
		/* Past the widest span's buckets is past the log; past a narrower span's, the
		 * counts of two spans disagree, which the triggers never leave behind. */
		if (found == 0)
			return i == 0 ? AUDIT_SEEK_PAST_END : AUDIT_SEEK_UNKNOWN;
		lo = bucket * SPAN_FANOUT;
		hi = lo + SPAN_FANOUT - 1;
	}
	/* The last timestamp of the narrowest bucket: (bucket + 1) << 36 - 1, which never
	 * overflows (bucket <= LLONG_MAX >> 36). */
	*ts_max = bucket * (1LL << spans[N_SPANS - 1]) + ((1LL << spans[N_SPANS - 1]) - 1);
	return AUDIT_SEEK_FOUND;
}
