#include "store/audit_query.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/audit.h"
#include "store/audit_seek.h"
#include "store/db.h"
#include "store/dbx.h"
#include "core/encoding.h"
#include "core/timeutil.h"

/* The exact-match filters, in the order they are placed and bound. */
struct text_filter {
	const char *param;
	const char *column;
	size_t offset;
};

static const struct text_filter text_filters[] = {
	{ "actor", "actor_sub", offsetof(struct audit_query, actor) },
	{ "verb", "verb", offsetof(struct audit_query, verb) },
	{ "outcome", "outcome", offsetof(struct audit_query, outcome) },
	{ "cluster", "cluster", offsetof(struct audit_query, cluster) },
	{ "session_id", "session_id", offsetof(struct audit_query, session_id) },
	{ "request_id", "request_id", offsetof(struct audit_query, request_id) },
};

#define N_TEXT_FILTERS (sizeof text_filters / sizeof text_filters[0])

static const char *filter_value(const struct audit_query *q, const struct text_filter *f)
{
	return *(const char *const *)((const char *)q + f->offset);
}

static int parse_non_negative(const char *value, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(value, &end, 10);
	if (errno || end == value || *end || v < 0 || v > INT_MAX)
		return -1;
	*out = (int)v;
	return 0;
}

int audit_query_set_param(struct audit_query *q, const char *key, const char *value,
			  char *err, size_t errlen)
{
	for (size_t i = 0; i < N_TEXT_FILTERS; i++) {
		if (strcmp(key, text_filters[i].param) == 0) {
			*(const char **)((char *)q + text_filters[i].offset) = value;
			return 0;
		}
	}
	if (strcmp(key, "from") == 0 || strcmp(key, "to") == 0) {
		long long *dst = key[0] == 'f' ? &q->from_ns : &q->to_ns;
		if (parse_rfc3339_ns(value, dst) != 0) {
			snprintf(err, errlen, "%s: expected an RFC 3339 time such as "
					      "2026-01-02T15:04:05Z", key);
			return -1;
		}
		return 0;
	}
	if (strcmp(key, "limit") == 0 || strcmp(key, "offset") == 0) {
		int *dst = key[0] == 'l' ? &q->limit : &q->offset;
		if (parse_non_negative(value, dst) != 0) {
			snprintf(err, errlen, "%s: expected a non-negative integer", key);
			return -1;
		}
		return 0;
	}
	if (strcmp(key, "cursor") == 0) {
		if (audit_cursor_decode(value, &q->cursor_ts_ns, &q->cursor_id) != 0) {
			snprintf(err, errlen, "cursor: not a cursor this server issued");
			return -1;
		}
		q->has_cursor = true;
		return 0;
	}
	snprintf(err, errlen, "unknown parameter \"%.64s\"", key);
	return -1;
}

int audit_query_where(const struct audit_query *q, bool for_count, struct buf *sql)
{
	const char *joiner = " WHERE ";
	int rc = 0;

	for (size_t i = 0; i < N_TEXT_FILTERS; i++) {
		const char *v = filter_value(q, &text_filters[i]);
		if (!v || !*v)
			continue;
		rc |= buf_printf(sql, "%s%s = ?", joiner, text_filters[i].column);
		joiner = " AND ";
	}
	if (q->from_ns) {
		rc |= buf_printf(sql, "%sts_unix_nano >= ?", joiner);
		joiner = " AND ";
	}
	if (q->to_ns) {
		rc |= buf_printf(sql, "%sts_unix_nano < ?", joiner);
		joiner = " AND ";
	}
	/* A row value: SQLite seeks the index to it, where the OR of two terms scanned every
	 * newer row first (130 ms at 1M rows for a cursor 90 % down). */
	if (q->has_cursor && !for_count)
		rc |= buf_printf(sql, "%s(ts_unix_nano, id) < (?, ?)", joiner);
	return rc ? -1 : 0;
}

int audit_query_bind(const struct audit_query *q, bool for_count, struct dbx_stmt *st)
{
	int idx = 1, rc = 0;

	for (size_t i = 0; i < N_TEXT_FILTERS; i++) {
		const char *v = filter_value(q, &text_filters[i]);
		if (v && *v)
			rc |= dbx_bind_text(st, idx++, v);
	}
	if (q->from_ns)
		rc |= dbx_bind_int64(st, idx++, q->from_ns);
	if (q->to_ns)
		rc |= dbx_bind_int64(st, idx++, q->to_ns);
	if (q->has_cursor && !for_count) {
		rc |= dbx_bind_int64(st, idx++, q->cursor_ts_ns);
		rc |= dbx_bind_int64(st, idx++, q->cursor_id);
	}
	return rc == 0 ? 0 : -1;
}

char *audit_cursor_encode(long long ts_ns, long long id)
{
	char raw[64];
	int n = snprintf(raw, sizeof raw, "%lld:%lld", ts_ns, id);

	return b64url_encode(raw, (size_t)n);
}

int audit_cursor_decode(const char *text, long long *ts_ns, long long *id)
{
	unsigned char *raw = NULL;
	size_t len = 0;
	char tail;
	int rc = -1;

	if (strlen(text) > 64 || b64url_decode(text, strlen(text), &raw, &len) != 0)
		return -1;
	if (sscanf((const char *)raw, "%lld:%lld%c", ts_ns, id, &tail) == 2 && *ts_ns >= 0 &&
	    *id > 0)
		rc = 0;
	free(raw);
	return rc;
}

static bool has_filter(const struct audit_query *q)
{
	for (size_t i = 0; i < N_TEXT_FILTERS; i++) {
		const char *v = filter_value(q, &text_filters[i]);
		if (v && *v)
			return true;
	}
	return q->from_ns || q->to_ns;
}

/* How many rows match, without counting a million of them on every page: the whole table's
 * count is kept by a trigger (audit_usage); a filtered count stops at AUDIT_TOTAL_CAP, past
 * which *exact is false and the total says "at least this many". */
static int count_rows(struct dbx *db, const struct audit_query *q, long long *total,
		      bool *exact)
{
	struct buf sql;
	struct dbx_stmt *st = NULL;
	int rc = -1;

	buf_init(&sql, 4096);
	if (!has_filter(q)) {
		if (buf_append_str(&sql, "SELECT rows FROM audit_usage WHERE id = 1") != 0)
			goto done;
	} else if (buf_append_str(&sql, "SELECT count(*) FROM (SELECT 1 FROM audit_events") != 0 ||
		   audit_query_where(q, true, &sql) != 0 ||
		   buf_printf(&sql, " LIMIT %d) AS capped", AUDIT_TOTAL_CAP + 1) != 0) {
		goto done;
	}
	if (dbx_prepare(db, sql.data, &st) != 0 ||
	    (has_filter(q) && audit_query_bind(q, true, st) != 0) || dbx_step(st) != DBX_ROW)
		goto done;
	*total = dbx_column_int64(st, 0);
	*exact = !has_filter(q) || *total <= AUDIT_TOTAL_CAP;
	if (!*exact)
		*total = AUDIT_TOTAL_CAP;
	rc = 0;
done:
	dbx_finalize(st);
	buf_free(&sql);
	return rc;
}

/* Runs the page's SELECT: the filters, newest first, limit rows after skipping skip; with
 * seek, only rows at or before ts_max (store/audit_seek.h). Appends the rows to items and
 * sets the last one's position. */
static int select_page(struct dbx *db, const struct audit_query *q, bool seek, long long ts_max,
		       long long skip, int limit, json_t *items, int *n, long long *last_ts,
		       long long *last_id)
{
	struct dbx_stmt *st = NULL;
	struct buf sql;
	enum dbx_step step;
	int rc = -1;

	buf_init(&sql, 4096);
	if (buf_append_str(&sql, "SELECT " AUDIT_ROW_COLUMNS " FROM audit_events") != 0 ||
	    audit_query_where(q, false, &sql) != 0 ||
	    (seek && buf_append_str(&sql, " WHERE ts_unix_nano <= ?") != 0) ||
	    buf_append_str(&sql, " ORDER BY ts_unix_nano DESC, id DESC LIMIT ? OFFSET ?") != 0)
		goto done;
	if (dbx_prepare(db, sql.data, &st) != 0 || audit_query_bind(q, false, st) != 0 ||
	    (seek && dbx_bind_int64(st, dbx_param_count(st) - 2, ts_max) != 0) ||
	    dbx_bind_int64(st, dbx_param_count(st) - 1, limit) != 0 ||
	    dbx_bind_int64(st, dbx_param_count(st), skip) != 0)
		goto done;
	while ((step = dbx_step(st)) == DBX_ROW) {
		json_t *row = audit_row_json(st);
		if (!row || json_array_append_new(items, row) != 0)
			goto done;
		*last_id = dbx_column_int64(st, 0);
		*last_ts = dbx_column_int64(st, 1);
		(*n)++;
	}
	if (step == DBX_DONE)
		rc = 0;
done:
	dbx_finalize(st);
	buf_free(&sql);
	return rc;
}

int audit_query_run_dbx(struct dbx *db, const struct audit_query *q, json_t **result, char *err,
			size_t errlen)
{
	int limit = q->limit <= 0 ? AUDIT_DEFAULT_LIMIT
				  : (q->limit > AUDIT_MAX_LIMIT ? AUDIT_MAX_LIMIT : q->limit);
	long long total = 0, last_ts = 0, last_id = 0, ts_max = 0, skip = q->offset;
	bool exact = true;
	/* A deep offset into the whole log seeks (store/audit_seek.h); the bucket counts, the
	 * total and the rows are then read in one snapshot, so rows written meanwhile cannot
	 * shift the page between the statements. */
	bool seek = !has_filter(q) && !q->has_cursor && q->offset >= AUDIT_SEEK_MIN_OFFSET;
	bool own_tx = seek && !dbx_in_transaction(db), past_end = false;
	json_t *items = json_array(), *out = NULL;
	int n = 0;

	*result = NULL;
	if (!items || (own_tx && dbx_begin_read(db) != 0) || count_rows(db, q, &total, &exact) != 0)
		goto db_error;
	if (seek) {
		switch (audit_seek_offset(db, q->offset, &ts_max, &skip)) {
		case AUDIT_SEEK_FOUND:
			break;
		case AUDIT_SEEK_PAST_END:
			past_end = true;
			break;
		case AUDIT_SEEK_UNKNOWN:
			seek = false;
			skip = q->offset;
			break;
		case AUDIT_SEEK_ERROR:
			goto db_error;
		}
	}
	if (!past_end && select_page(db, q, seek, ts_max, skip, limit, items, &n, &last_ts,
				     &last_id) != 0)
		goto db_error;
	if (own_tx && dbx_commit(db) != 0)
		goto db_error;
	own_tx = false;
	out = json_pack("{s:o, s:I, s:b, s:i, s:i}", "items", items, "total", (json_int_t)total,
			"totalExact", exact, "limit", limit, "offset", q->offset);
	items = NULL;
	if (!out)
		goto db_error;
	/* A full page may have a next one: hand out the position of its last row. */
	if (n == limit) {
		char *cursor = audit_cursor_encode(last_ts, last_id);
		if (cursor)
			json_object_set_new(out, "nextCursor", json_string(cursor));
		free(cursor);
	}
	*result = out;
	return 0;
db_error:
	snprintf(err, errlen, "audit query failed: %s", dbx_errmsg(db));
	if (own_tx)
		dbx_rollback(db);
	json_decref(items);
	return -1;
}

int audit_query_run(sqlite3 *db, const struct audit_query *q, json_t **result, char *err,
		    size_t errlen)
{
	struct dbx x;

	dbx_borrow_sqlite(&x, db);
	return audit_query_run_dbx(&x, q, result, err, errlen);
}
