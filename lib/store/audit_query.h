/* GET /api/audit: filters (exact match, AND-ed), newest first, paging by offset or by a
 * stable cursor (the (timestamp, id) of the last row seen, so rows written meanwhile do not
 * shift the pages). The SQL is built from fixed fragments; values are always bound. */
#ifndef PERISCOPE_AUDIT_QUERY_H
#define PERISCOPE_AUDIT_QUERY_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

#define AUDIT_DEFAULT_LIMIT 50
#define AUDIT_MAX_LIMIT 500
/* A filtered total is counted up to this many rows; past it the answer says "at least". */
#define AUDIT_TOTAL_CAP 10000

struct audit_query {
	const char *actor;       /* forced to the caller's own sub for non-admins */
	const char *verb;
	const char *outcome;
	const char *cluster;
	const char *session_id;
	const char *request_id;
	long long from_ns;       /* inclusive; 0 = unbounded */
	long long to_ns;         /* exclusive; 0 = unbounded */
	int limit;               /* 0 = default; clamped to AUDIT_MAX_LIMIT */
	int offset;
	bool has_cursor;
	long long cursor_ts_ns;  /* rows strictly older than (ts, id) */
	long long cursor_id;
};

/* Parses the query-string parameters (already split and decoded) into q. Unknown keys are
 * refused. Returns 0, or -1 with a message naming the bad parameter. Pointers in q borrow
 * from the value strings. */
int audit_query_set_param(struct audit_query *q, const char *key, const char *value,
			  char *err, size_t errlen);

/* Builds the WHERE clause (without the cursor when for_count is true) into sql. */
int audit_query_where(const struct audit_query *q, bool for_count, struct buf *sql);
/* Binds the values in the order audit_query_where placed their markers. */
struct dbx;
struct dbx_stmt;
int audit_query_bind(const struct audit_query *q, bool for_count, struct dbx_stmt *st);

/* Runs the query: {"items":[...],"total":N,"totalExact":B,"limit":L,"offset":O,
 * "nextCursor"?:"..."}. */
int audit_query_run(sqlite3 *db, const struct audit_query *q, json_t **result, char *err,
		    size_t errlen);
/* The same on either engine (store/dbx.h). */
int audit_query_run_dbx(struct dbx *db, const struct audit_query *q, json_t **result, char *err,
			size_t errlen);

char *audit_cursor_encode(long long ts_ns, long long id);
int audit_cursor_decode(const char *text, long long *ts_ns, long long *id);

#endif
