/* The audit log's hash chain: tamper evidence for audit_events (docs/audit-api.md).
 *
 * Each row carries prev_hash, the SHA-256 (lowercase hex) of the previous row's canonical
 * form. The canonical form of a row is these 20 netstrings, in this order:
 *
 *   "periscope-audit-chain-v1", id, ts_unix_nano, request_id, route, actor_sub,
 *   actor_email, actor_groups, verb, outcome, cluster, res_group, res_version, res_type,
 *   res_namespace, res_name, reason, session_id, extra, prev_hash
 *
 * where a value is "<n>:<bytes>," (n = the decimal count of its bytes; text as the UTF-8
 * stored, integers in decimal ASCII) and NULL is "-,". The row after the anchor (where the
 * chain began, or the last row retention deleted) carries the anchor's hash; the head is
 * the newest row's hash. Appending reads the head and writes the row and the new head in
 * one write transaction, so writers in different processes never fork the chain. */
#ifndef PERISCOPE_AUDIT_CHAIN_H
#define PERISCOPE_AUDIT_CHAIN_H

#include <jansson.h>
#include <stdbool.h>
#include <sqlite3.h>

#define AUDIT_HASH_HEX 65
/* The columns of the canonical form, as a SELECT list (after the version tag). */
#define AUDIT_CHAIN_COLUMNS                                                                 \
	"id, ts_unix_nano, request_id, route, actor_sub, actor_email, actor_groups, verb,"    \
	" outcome, cluster, res_group, res_version, res_type, res_namespace, res_name,"       \
	" reason, session_id, extra, prev_hash"

/* The head's hash, what the next row must carry as prev_hash. 0 or -1. */
int audit_chain_head(sqlite3 *db, char prev_hash[AUDIT_HASH_HEX]);
/* After inserting row id (inside the same transaction): it becomes the head. 0 or -1. */
int audit_chain_append(sqlite3 *db, long long id);
/* Before deleting every row with id <= last (inside the same transaction): the anchor
 * moves to row last, keeping its hash. 0 or -1. */
int audit_chain_advance_anchor(sqlite3 *db, long long last);
/* The same on either engine (store/dbx.h). On PostgreSQL the head and the anchor are read
 * FOR UPDATE: the row lock that keeps writers on every replica on one chain. */
struct dbx;
int audit_chain_head_dbx(struct dbx *db, char prev_hash[AUDIT_HASH_HEX]);
int audit_chain_append_dbx(struct dbx *db, long long id);
/* The same, from the row as the insert returned it (its columns AUDIT_CHAIN_COLUMNS, the
 * statement on that row), without reading it again. */
struct dbx_stmt;
int audit_chain_append_row_dbx(struct dbx *db, struct dbx_stmt *row);
int audit_chain_advance_anchor_dbx(struct dbx *db, long long last);

struct audit_verify {
	bool intact;
	long long rows;          /* chained rows checked */
	long long first_id, last_id;
	long long unchained;     /* rows written before the chain existed (id <= anchor) */
	long long anchor_id, head_id;
	char anchor_hash[AUDIT_HASH_HEX], head_hash[AUDIT_HASH_HEX];
	long long broken_id;     /* the first broken row, when !intact */
	const char *problem;     /* what is wrong with it */
};

/* Walks the chain from the anchor to the head. 0 (out says whether it is intact) or -1
 * when the database cannot be read. */
int audit_chain_verify(sqlite3 *db, struct audit_verify *out);
int audit_chain_verify_dbx(struct dbx *db, struct audit_verify *out);
/* The result as GET /api/audit/verify and periscope-audit verify print it. */
json_t *audit_verify_json(const struct audit_verify *v);

#endif
