#include "store/audit_chain.h"

#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/encoding.h"
#include "store/dbx.h"

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
static int row_hash(struct dbx_stmt *st, char out[AUDIT_HASH_HEX])
{
	struct buf b;
	int rc = -1;

	buf_init(&b, CANONICAL_MAX);
	if (netstring(&b, CHAIN_TAG, strlen(CHAIN_TAG)) != 0)
		goto done;
	for (int col = 0; col < CHAIN_COLUMN_COUNT; col++) {
		/* Integers come back as their decimal text (on both engines); text as stored,
		 * which never holds a NUL (audit_write binds C strings). */
		const char *t = dbx_column_text(st, col);
		if (netstring(&b, t, t ? strlen(t) : 0) != 0)
			goto done;
	}
	rc = sha256_hex(b.data, b.len, out);
done:
	buf_free(&b);
	return rc;
}

static int copy_text(struct dbx_stmt *st, int col, char out[AUDIT_HASH_HEX])
{
	const char *t = dbx_column_text(st, col);

	if (!t || strlen(t) != AUDIT_HASH_HEX - 1)
		return -1;
	memcpy(out, t, AUDIT_HASH_HEX);
	return 0;
}

/* On PostgreSQL the head is read FOR UPDATE: the row lock that keeps concurrent writers on
 * every replica in one line until the transaction that read it ends. SQLite's writers are
 * already in line (BEGIN IMMEDIATE). */
int audit_chain_head_dbx(struct dbx *db, char prev_hash[AUDIT_HASH_HEX])
{
	struct dbx_stmt *st = NULL;
	int rc = -1;

	if (dbx_prepare_kept(db, dbx_sql(db, "SELECT head_hash FROM audit_chain WHERE id = 1",
					 "SELECT head_hash FROM audit_chain WHERE id = 1 FOR UPDATE"),
			     &st) != 0)
		return -1;
	if (dbx_step(st) == DBX_ROW)
		rc = copy_text(st, 0, prev_hash);
	dbx_finalize(st);
	return rc;
}

/* The hash of row id as stored. 1 found, 0 no such row, -1 error. */
static int stored_row_hash(struct dbx *db, long long id, char out[AUDIT_HASH_HEX])
{
	struct dbx_stmt *st = NULL;
	enum dbx_step step;
	int rc = -1;

	/* Kept: run for every row written, and preparing its column list was 38 % of a SQLite
	 * audit write's instructions (bench/audit_write_bench.c). */
	if (dbx_prepare_kept(db, "SELECT " AUDIT_CHAIN_COLUMNS " FROM audit_events WHERE id = ?",
			     &st) != 0)
		return -1;
	dbx_bind_int64(st, 1, id);
	step = dbx_step(st);
	if (step == DBX_DONE)
		rc = 0;
	else if (step == DBX_ROW && row_hash(st, out) == 0)
		rc = 1;
	dbx_finalize(st);
	return rc;
}

/* Sets one (id, hash) pair of the chain's single row. */
static int set_pair(struct dbx *db, const char *sql, long long id, const char *hash)
{
	long long changed = 0;

	if (dbx_run(db, sql, &changed, "it", id, hash) != 0 || changed != 1)
		return -1;
	return 0;
}

int audit_chain_append_dbx(struct dbx *db, long long id)
{
	char hash[AUDIT_HASH_HEX];

	if (stored_row_hash(db, id, hash) != 1)
		return -1;
	return set_pair(db, "UPDATE audit_chain SET head_id = ?1, head_hash = ?2 WHERE id = 1", id,
			hash);
}

int audit_chain_append_row_dbx(struct dbx *db, struct dbx_stmt *row)
{
	char hash[AUDIT_HASH_HEX];

	if (row_hash(row, hash) != 0)
		return -1;
	return set_pair(db, "UPDATE audit_chain SET head_id = ?1, head_hash = ?2 WHERE id = 1",
			dbx_column_int64(row, 0), hash);
}

/* Locks the chain's row on PostgreSQL like audit_chain_head_dbx, so that retention and
 * writers on other replicas take turns. */
int audit_chain_advance_anchor_dbx(struct dbx *db, long long last)
{
	struct dbx_stmt *st = NULL;
	long long anchor_id = -1;
	char hash[AUDIT_HASH_HEX];

	if (dbx_prepare(db, dbx_sql(db, "SELECT anchor_id FROM audit_chain WHERE id = 1",
				    "SELECT anchor_id FROM audit_chain WHERE id = 1 FOR UPDATE"),
			&st) != 0)
		return -1;
	if (dbx_step(st) == DBX_ROW)
		anchor_id = dbx_column_int64(st, 0);
	dbx_finalize(st);
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

int audit_chain_head(sqlite3 *db, char prev_hash[AUDIT_HASH_HEX])
{
	struct dbx x;

	dbx_borrow_sqlite(&x, db);
	return audit_chain_head_dbx(&x, prev_hash);
}

int audit_chain_append(sqlite3 *db, long long id)
{
	struct dbx x;

	dbx_borrow_sqlite(&x, db);
	return audit_chain_append_dbx(&x, id);
}

int audit_chain_advance_anchor(sqlite3 *db, long long last)
{
	struct dbx x;

	dbx_borrow_sqlite(&x, db);
	return audit_chain_advance_anchor_dbx(&x, last);
}

static int read_chain(struct dbx *db, struct audit_verify *out)
{
	struct dbx_stmt *st = NULL;
	int rc = -1;

	if (dbx_prepare(db, "SELECT anchor_id, anchor_hash, head_id, head_hash,"
			    " (SELECT count(*) FROM audit_events WHERE id <= anchor_id)"
			    " FROM audit_chain WHERE id = 1",
			&st) != 0)
		return -1;
	if (dbx_step(st) == DBX_ROW && copy_text(st, 1, out->anchor_hash) == 0 &&
	    copy_text(st, 3, out->head_hash) == 0) {
		out->anchor_id = dbx_column_int64(st, 0);
		out->head_id = dbx_column_int64(st, 2);
		out->unchained = dbx_column_int64(st, 4);
		rc = 0;
	}
	dbx_finalize(st);
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

/* What the walk carries from one row to the next (and from one page to the next). */
struct walk {
	char expected[AUDIT_HASH_HEX], pending_hash[AUDIT_HASH_HEX];
	long long prev_id, pending_id, pending_prev;
	bool prev_is_row, pending, pending_prev_is_row, done;
};

/* One row of the walk. 0, or -1 when it cannot be hashed. */
static int walk_row(struct walk *w, struct dbx_stmt *st, struct audit_verify *out)
{
	const char *link = dbx_column_text(st, 18);
	long long id = dbx_column_int64(st, 0);
	char hash[AUDIT_HASH_HEX];

	if (row_hash(st, hash) != 0)
		return -1;
	if (w->pending) {
		/* The row after a broken link says whether that row is itself intact. */
		name_the_break(out, w->pending_prev, w->pending_prev_is_row, w->pending_id,
			       link && strcmp(link, w->pending_hash) == 0);
		w->done = true;
		return 0;
	}
	out->rows++;
	if (!out->first_id)
		out->first_id = id;
	out->last_id = id;
	if (!link || strcmp(link, w->expected) != 0) {
		w->pending = true;
		w->pending_id = id;
		w->pending_prev = w->prev_id;
		w->pending_prev_is_row = w->prev_is_row;
		memcpy(w->pending_hash, hash, sizeof w->pending_hash);
	}
	memcpy(w->expected, hash, sizeof w->expected);
	w->prev_id = id;
	w->prev_is_row = true;
	return 0;
}

/* Rows are read a page at a time: libpq holds a whole result in memory, and a chain may
 * be millions of rows. */
#define VERIFY_PAGE 2000

/* The walk, from the anchor on. 0, or -1 when the rows cannot be read. */
static int walk_rows(struct dbx *db, struct walk *w, struct audit_verify *out)
{
	struct dbx_stmt *st = NULL;
	enum dbx_step step = DBX_DONE;
	long long after = out->anchor_id;
	int n;

	do {
		if (dbx_prepare(db, "SELECT " AUDIT_CHAIN_COLUMNS " FROM audit_events WHERE id > ?"
				    " ORDER BY id LIMIT ?", &st) != 0)
			return -1;
		dbx_bind_int64(st, 1, after);
		dbx_bind_int64(st, 2, VERIFY_PAGE);
		n = 0;
		while (!w->done && (step = dbx_step(st)) == DBX_ROW) {
			after = dbx_column_int64(st, 0);
			n++;
			if (walk_row(w, st, out) != 0)
				goto fail;
		}
		if (!w->done && step != DBX_DONE)
			goto fail;
		dbx_finalize(st);
		st = NULL;
	} while (!w->done && n == VERIFY_PAGE);
	return 0;
fail:
	dbx_finalize(st);
	return -1;
}

static int verify_in_snapshot(struct dbx *db, struct audit_verify *out)
{
	struct walk w = { .prev_is_row = false };

	memset(out, 0, sizeof *out);
	out->intact = true;
	if (read_chain(db, out) != 0)
		return -1;
	memcpy(w.expected, out->anchor_hash, sizeof w.expected);
	w.prev_id = out->anchor_id;
	if (walk_rows(db, &w, out) != 0)
		return -1;
	if (w.pending && out->intact) {
		/* The broken link was the last row's: the head confirms it or not. */
		name_the_break(out, w.pending_prev, w.pending_prev_is_row, w.pending_id,
			       out->head_id == w.pending_id &&
				       strcmp(out->head_hash, w.pending_hash) == 0);
	} else if (!w.pending && out->head_id != w.prev_id) {
		if (out->head_id > w.prev_id)
			broken(out, out->head_id, "missing: the newest row of the chain is gone");
		else
			broken(out, out->head_id + 1, "not in the chain: written after the head");
	} else if (!w.pending && strcmp(out->head_hash, w.expected) != 0) {
		broken(out, w.prev_id, w.prev_is_row
			? "altered: its content no longer has the hash the head recorded"
			: "the chain's anchor or head was altered");
	}
	return 0;
}

/* The head and the rows are read in one snapshot (a read transaction; on PostgreSQL
 * REPEATABLE READ), so rows that writers on any replica commit meanwhile are not taken
 * for rows "written after the head". */
int audit_chain_verify_dbx(struct dbx *db, struct audit_verify *out)
{
	bool own = !dbx_in_transaction(db);
	int rc;

	if (own && dbx_exec(db, dbx_sql(db, "BEGIN",
					  "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")) != 0)
		return -1;
	rc = verify_in_snapshot(db, out);
	if (own)
		dbx_rollback(db);
	return rc;
}

int audit_chain_verify(sqlite3 *db, struct audit_verify *out)
{
	struct dbx x;

	dbx_borrow_sqlite(&x, db);
	return audit_chain_verify_dbx(&x, out);
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
