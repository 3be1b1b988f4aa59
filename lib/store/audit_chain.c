#include "store/audit_chain.h"

#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/encoding.h"

#define CHAIN_TAG "periscope-audit-chain-v1"
#define CHAIN_COLUMN_COUNT 19
/* The largest row the chain hashes (transcripts are capped far below this). */
#define CANONICAL_MAX (512u << 20)

static int netstring(struct buf *b, const void *data, size_t len)
{
	if (!data)
		return buf_append(b, "-,", 2);
	if (buf_printf(b, "%zu:", len) != 0 || buf_append(b, data, len) != 0)
		return -1;
	return buf_append(b, ",", 1);
}

/* The hash of the row st stands on, its columns being AUDIT_CHAIN_COLUMNS from index 0. */
static int row_hash(sqlite3_stmt *st, char out[AUDIT_HASH_HEX])
{
	struct buf b;
	int rc = -1;

	buf_init(&b, CANONICAL_MAX);
	if (netstring(&b, CHAIN_TAG, strlen(CHAIN_TAG)) != 0)
		goto done;
	for (int col = 0; col < CHAIN_COLUMN_COUNT; col++) {
		/* Integers come back as their decimal text; text as stored. */
		const unsigned char *t = sqlite3_column_text(st, col);
		if (netstring(&b, t, t ? (size_t)sqlite3_column_bytes(st, col) : 0) != 0)
			goto done;
	}
	rc = sha256_hex(b.data, b.len, out);
done:
	buf_free(&b);
	return rc;
}

static int copy_text(sqlite3_stmt *st, int col, char out[AUDIT_HASH_HEX])
{
	const unsigned char *t = sqlite3_column_text(st, col);

	if (!t || strlen((const char *)t) != AUDIT_HASH_HEX - 1)
		return -1;
	memcpy(out, t, AUDIT_HASH_HEX);
	return 0;
}

int audit_chain_head(sqlite3 *db, char prev_hash[AUDIT_HASH_HEX])
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(db, "SELECT head_hash FROM audit_chain WHERE id = 1", -1, &st,
			       NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		rc = copy_text(st, 0, prev_hash);
	sqlite3_finalize(st);
	return rc;
}

/* The hash of row id as stored. 1 found, 0 no such row, -1 error. */
static int stored_row_hash(sqlite3 *db, long long id, char out[AUDIT_HASH_HEX])
{
	sqlite3_stmt *st = NULL;
	int rc = -1, step;

	if (sqlite3_prepare_v2(db, "SELECT " AUDIT_CHAIN_COLUMNS " FROM audit_events WHERE id = ?",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	step = sqlite3_step(st);
	if (step == SQLITE_DONE)
		rc = 0;
	else if (step == SQLITE_ROW && row_hash(st, out) == 0)
		rc = 1;
	sqlite3_finalize(st);
	return rc;
}

static int set_pair(sqlite3 *db, const char *sql, long long id, const char *hash)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(db) == 1)
		rc = 0;
	sqlite3_finalize(st);
	return rc;
}

int audit_chain_append(sqlite3 *db, long long id)
{
	char hash[AUDIT_HASH_HEX];

	if (stored_row_hash(db, id, hash) != 1)
		return -1;
	return set_pair(db, "UPDATE audit_chain SET head_id = ?1, head_hash = ?2 WHERE id = 1", id,
			hash);
}

int audit_chain_advance_anchor(sqlite3 *db, long long last)
{
	sqlite3_stmt *st = NULL;
	long long anchor_id = -1;
	char hash[AUDIT_HASH_HEX];

	if (sqlite3_prepare_v2(db, "SELECT anchor_id FROM audit_chain WHERE id = 1", -1, &st,
			       NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		anchor_id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (anchor_id < 0)
		return -1;
	/* Rows from before the chain leave the anchor where it is. */
	if (last <= anchor_id)
		return 0;
	if (stored_row_hash(db, last, hash) != 1)
		return -1;
	return set_pair(db, "UPDATE audit_chain SET anchor_id = ?1, anchor_hash = ?2 WHERE id = 1",
			last, hash);
}

static int read_chain(sqlite3 *db, struct audit_verify *out)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(db, "SELECT anchor_id, anchor_hash, head_id, head_hash,"
				   " (SELECT count(*) FROM audit_events WHERE id <= anchor_id)"
				   " FROM audit_chain WHERE id = 1",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW && copy_text(st, 1, out->anchor_hash) == 0 &&
	    copy_text(st, 3, out->head_hash) == 0) {
		out->anchor_id = sqlite3_column_int64(st, 0);
		out->head_id = sqlite3_column_int64(st, 2);
		out->unchained = sqlite3_column_int64(st, 4);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

static void broken(struct audit_verify *out, long long id, const char *problem)
{
	out->intact = false;
	out->broken_id = id;
	out->problem = problem;
}

/* The first link that does not hold is between the row before (prev_id, or the anchor)
 * and row id. Which one was touched: if row id's own hash is confirmed by what comes after
 * it (the next row's prev_hash, or the head), row id is intact and the break is before it:
 * the row before was altered, or rows are missing. Otherwise row id itself was altered. */
static void name_the_break(struct audit_verify *out, long long prev_id, bool prev_is_row,
			   long long id, bool confirmed)
{
	if (!confirmed)
		broken(out, id, "altered: its prev_hash or content does not match the chain");
	else if (prev_is_row && id == prev_id + 1)
		broken(out, prev_id,
		       "altered: its content no longer has the hash the next row recorded");
	else
		broken(out, id, "rows missing before it, or the anchor altered");
}

int audit_chain_verify(sqlite3 *db, struct audit_verify *out)
{
	sqlite3_stmt *st = NULL;
	char expected[AUDIT_HASH_HEX], hash[AUDIT_HASH_HEX], pending_hash[AUDIT_HASH_HEX];
	long long prev_id, pending_id = 0, pending_prev = 0;
	bool prev_is_row = false, pending = false, pending_prev_is_row = false;
	int step, rc = -1;

	memset(out, 0, sizeof *out);
	out->intact = true;
	if (read_chain(db, out) != 0)
		return -1;
	memcpy(expected, out->anchor_hash, sizeof expected);
	prev_id = out->anchor_id;
	if (sqlite3_prepare_v2(db, "SELECT " AUDIT_CHAIN_COLUMNS " FROM audit_events WHERE id > ?"
				   " ORDER BY id",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, out->anchor_id);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *link = sqlite3_column_text(st, 18);
		long long id = sqlite3_column_int64(st, 0);

		if (row_hash(st, hash) != 0)
			goto done;
		if (pending) {
			/* The row after a broken link says whether that row is itself intact. */
			name_the_break(out, pending_prev, pending_prev_is_row, pending_id,
				       link && strcmp((const char *)link, pending_hash) == 0);
			break;
		}
		out->rows++;
		if (!out->first_id)
			out->first_id = id;
		out->last_id = id;
		if (!link || strcmp((const char *)link, expected) != 0) {
			pending = true;
			pending_id = id;
			pending_prev = prev_id;
			pending_prev_is_row = prev_is_row;
			memcpy(pending_hash, hash, sizeof pending_hash);
		}
		memcpy(expected, hash, sizeof expected);
		prev_id = id;
		prev_is_row = true;
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		goto done;
	if (pending && out->intact) {
		/* The broken link was the last row's: the head confirms it or not. */
		name_the_break(out, pending_prev, pending_prev_is_row, pending_id,
			       out->head_id == pending_id && strcmp(out->head_hash, pending_hash) == 0);
	} else if (!pending && out->head_id != prev_id) {
		if (out->head_id > prev_id)
			broken(out, out->head_id, "missing: the newest row of the chain is gone");
		else
			broken(out, out->head_id + 1, "not in the chain: written after the head");
	} else if (!pending && strcmp(out->head_hash, expected) != 0) {
		broken(out, prev_id, prev_is_row
			? "altered: its content no longer has the hash the head recorded"
			: "the chain's anchor or head was altered");
	}
	rc = 0;
done:
	sqlite3_finalize(st);
	return rc;
}

json_t *audit_verify_json(const struct audit_verify *v)
{
	json_t *o = json_pack("{s:b, s:I, s:I, s:I, s:I, s:{s:I, s:s}, s:{s:I, s:s}}", "intact",
			      v->intact, "rows", (json_int_t)v->rows, "firstId",
			      (json_int_t)v->first_id, "lastId", (json_int_t)v->last_id,
			      "unchainedRows", (json_int_t)v->unchained, "anchor", "id",
			      (json_int_t)v->anchor_id, "hash", v->anchor_hash, "head", "id",
			      (json_int_t)v->head_id, "hash", v->head_hash);

	if (o && !v->intact) {
		json_object_set_new(o, "brokenId", json_integer(v->broken_id));
		json_object_set_new(o, "problem", json_string(v->problem));
	}
	return o;
}
