/* Login sessions, on either engine (store/dbx.h). The cookie value never reaches the database: rows are keyed by
 * its SHA-256, and the tokens are sealed with a key derived from it (token_box.h). */
#ifndef PERISCOPE_SESSION_STORE_H
#define PERISCOPE_SESSION_STORE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "auth/token_box.h"
#include "store/dbx.h"

struct login_tokens {
	char *access_token;
	char *refresh_token;
	char *id_token;
};

struct login_session {
	char id_hash[SESSION_ID_HASH_LEN + 1];
	char *subject;
	char *email;
	char *groups_json;             /* JSON array of strings */
	struct login_tokens tokens;
	long long access_expires_at;   /* unix seconds, 0 = unknown */
	long long id_token_expires_at;
	long long created_at;
	long long last_seen_at;
	long long absolute_expires_at;
	long long refresh_claimed_until;
	bool tokens_loaded;            /* tokens unsealed (session_store_unseal) */
};

void login_tokens_clear(struct login_tokens *t);
void login_session_clear(struct login_session *s);

int session_store_insert(sqlite3 *db, const char *cookie, const struct login_session *s,
			 char *err, size_t errlen);

enum session_lookup { SESSION_FOUND, SESSION_MISSING, SESSION_ERROR };
/* Loads and unseals the row for this cookie. A row whose tokens do not open with this
 * cookie counts as missing. */
enum session_lookup session_store_load(sqlite3 *db, const char *cookie, struct login_session *out,
				       char *err, size_t errlen);
/* Loads the row without its tokens, which most requests never use: unsealing and parsing
 * them was 78 % of an API request's instructions. The row is found by the cookie's hash,
 * which only the cookie's holder can produce. */
enum session_lookup session_store_load_row(sqlite3 *db, const char *cookie,
					   struct login_session *out, char *err, size_t errlen);
/* Unseals the tokens of a row loaded without them (no-op if loaded). 0, or -1 with err
 * (the row is gone, or its tokens do not open with this cookie). */
int session_store_unseal(sqlite3 *db, const char *cookie, struct login_session *s, char *err,
			 size_t errlen);
int session_store_touch(sqlite3 *db, const char *id_hash, long long now);

/* Why a login session ended. It is also the closed.reason of every terminal opened under
 * it (docs/frames.md), which learns it from login_session_ends. */
#define SESSION_END_SIGNED_OUT "signed_out"
#define SESSION_END_EXPIRED "session_expired"
/* How long the reason outlives the session (seconds). */
#define SESSION_END_KEEP_S 86400

/* Deletes the session and records why, in one transaction. */
int session_store_end(sqlite3 *db, const char *id_hash, const char *reason, long long now);
/* Ends every session of a subject ("sign out everywhere"). */
int session_store_end_subject(sqlite3 *db, const char *subject, const char *reason,
			      long long now);

/* What a running terminal re-checks every few seconds, read without unsealing anything. */
struct login_status {
	char *subject;
	char *groups_json;
	long long access_expires_at;
	long long last_seen_at;
	long long absolute_expires_at;
	char end_reason[32];           /* SESSION_MISSING: why it ended, "" when unknown */
};
void login_status_clear(struct login_status *st);
enum session_lookup session_store_status(sqlite3 *db, const char *id_hash,
					 struct login_status *out);

/* Claims the right to refresh this session's tokens until now+lease_s, in one write
 * transaction, so that concurrent requests (threads or processes) refresh once.
 * Returns 1 when claimed, 0 when another holds a live claim, -1 on error. */
int session_store_claim_refresh(sqlite3 *db, const char *id_hash, long long now, int lease_s);
/* Stores refreshed tokens (resealed), their expiry times, and the identity the fresh
 * id_token carried (email, groups_json), and releases the claim. */
int session_store_save_refreshed(sqlite3 *db, const char *cookie, const struct login_session *s);
int session_store_release_claim(sqlite3 *db, const char *id_hash);
/* Ends sessions past their absolute expiry or idle longer than idle_timeout_s (recorded as
 * SESSION_END_EXPIRED), and forgets end records older than SESSION_END_KEEP_S. */
int session_store_purge(sqlite3 *db, long long now, int idle_timeout_s);

/* The same, on a dbx connection (SQLite or PostgreSQL). Each behaves exactly as the
 * sqlite3 * function of the same name above, which wraps it around a borrowed handle. */
int session_store_insert_dbx(struct dbx *db, const char *cookie, const struct login_session *s,
			     char *err, size_t errlen);
enum session_lookup session_store_load_dbx(struct dbx *db, const char *cookie,
					   struct login_session *out, char *err, size_t errlen);
enum session_lookup session_store_load_row_dbx(struct dbx *db, const char *cookie,
					       struct login_session *out, char *err,
					       size_t errlen);
int session_store_unseal_dbx(struct dbx *db, const char *cookie, struct login_session *s,
			     char *err, size_t errlen);
int session_store_touch_dbx(struct dbx *db, const char *id_hash, long long now);
int session_store_end_dbx(struct dbx *db, const char *id_hash, const char *reason, long long now);
int session_store_end_subject_dbx(struct dbx *db, const char *subject, const char *reason,
				  long long now);
enum session_lookup session_store_status_dbx(struct dbx *db, const char *id_hash,
					     struct login_status *out);
int session_store_claim_refresh_dbx(struct dbx *db, const char *id_hash, long long now,
				    int lease_s);
int session_store_save_refreshed_dbx(struct dbx *db, const char *cookie,
				     const struct login_session *s);
int session_store_release_claim_dbx(struct dbx *db, const char *id_hash);
int session_store_purge_dbx(struct dbx *db, long long now, int idle_timeout_s);

#endif
