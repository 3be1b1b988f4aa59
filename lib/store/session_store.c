#include "store/session_store.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/dbx.h"

void login_tokens_clear(struct login_tokens *t)
{
	/* Tokens are secrets: wipe before freeing. */
	char **fields[] = { &t->access_token, &t->refresh_token, &t->id_token };

	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		if (*fields[i]) {
			explicit_bzero(*fields[i], strlen(*fields[i]));
			free(*fields[i]);
			*fields[i] = NULL;
		}
	}
}

void login_session_clear(struct login_session *s)
{
	login_tokens_clear(&s->tokens);
	free(s->subject);
	free(s->email);
	free(s->groups_json);
	memset(s, 0, sizeof *s);
}

static char *tokens_to_json(const struct login_tokens *t)
{
	json_t *o = json_pack("{s:s?, s:s?, s:s?}", "access_token", t->access_token,
			      "refresh_token", t->refresh_token, "id_token", t->id_token);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return s;
}

static int tokens_from_json(const char *text, struct login_tokens *t)
{
	json_t *o = json_loads(text, 0, NULL);
	const char *a = NULL, *r = NULL, *i = NULL;
	int rc = -1;

	if (o && json_unpack(o, "{s?s, s?s, s?s}", "access_token", &a, "refresh_token", &r,
			     "id_token", &i) == 0) {
		t->access_token = a ? strdup(a) : NULL;
		t->refresh_token = r ? strdup(r) : NULL;
		t->id_token = i ? strdup(i) : NULL;
		rc = 0;
	}
	json_decref(o);
	return rc;
}

static int seal_tokens(const char *cookie, const struct login_tokens *t, unsigned char **sealed,
		       size_t *sealed_len)
{
	char *json = tokens_to_json(t);
	int rc;

	if (!json)
		return -1;
	rc = token_box_seal(cookie, json, strlen(json), sealed, sealed_len);
	explicit_bzero(json, strlen(json));
	free(json);
	return rc;
}

/* Ported onto dbx.h (the pattern for the other modules, docs/HACKING.md "Storage
 * engines"): each function below takes a struct dbx; the sqlite3 * API of
 * session_store.h wraps the same code around a borrowed handle. The SQL is SQLite's; where
 * PostgreSQL spells it differently, its text sits beside it. */

/* "INSERT OR REPLACE" in PostgreSQL's words: the row of an id_hash replaced. */
#define PG_ENDS_UPSERT                                                                  \
	" ON CONFLICT (id_hash) DO UPDATE SET subject = excluded.subject,"             \
	" reason = excluded.reason, ended_at = excluded.ended_at"

int session_store_insert_dbx(struct dbx *db, const char *cookie, const struct login_session *s,
			     char *err, size_t errlen)
{
	static const char sql[] =
		"INSERT INTO login_sessions (id_hash, subject, email, groups_json, tokens_sealed,"
		" access_expires_at, id_token_expires_at, created_at, last_seen_at,"
		" absolute_expires_at) VALUES (?,?,?,?,?,?,?,?,?,?)";
	char id_hash[SESSION_ID_HASH_LEN + 1];
	unsigned char *sealed = NULL;
	size_t sealed_len = 0;
	struct dbx_stmt *st = NULL;
	int rc = -1;

	if (session_id_hash(cookie, id_hash) != 0 ||
	    seal_tokens(cookie, &s->tokens, &sealed, &sealed_len) != 0) {
		snprintf(err, errlen, "cannot seal the session tokens");
		goto done;
	}
	if (dbx_prepare(db, sql, &st) != 0)
		goto db_error;
	dbx_bind_text(st, 1, id_hash);
	dbx_bind_text(st, 2, s->subject);
	dbx_bind_text_or_null(st, 3, s->email);
	dbx_bind_text(st, 4, s->groups_json ? s->groups_json : "[]");
	dbx_bind_blob(st, 5, sealed, sealed_len);
	dbx_bind_int64(st, 6, s->access_expires_at);
	dbx_bind_int64(st, 7, s->id_token_expires_at);
	dbx_bind_int64(st, 8, s->created_at);
	dbx_bind_int64(st, 9, s->last_seen_at);
	dbx_bind_int64(st, 10, s->absolute_expires_at);
	if (dbx_step(st) != DBX_DONE)
		goto db_error;
	rc = 0;
	goto done;
db_error:
	snprintf(err, errlen, "cannot store the session: %s", dbx_errmsg(db));
done:
	dbx_finalize(st);
	free(sealed);
	return rc;
}

static enum session_lookup load(struct dbx *db, const char *cookie, bool with_tokens,
				struct login_session *out, char *err, size_t errlen)
{
	static const char sql[] =
		"SELECT subject, email, groups_json, tokens_sealed, access_expires_at,"
		" id_token_expires_at, created_at, last_seen_at, absolute_expires_at,"
		" refresh_claimed_until FROM login_sessions WHERE id_hash = ?";
	static const char sql_row[] =
		"SELECT subject, email, groups_json, NULL, access_expires_at,"
		" id_token_expires_at, created_at, last_seen_at, absolute_expires_at,"
		" refresh_claimed_until FROM login_sessions WHERE id_hash = ?";
	enum session_lookup result = SESSION_ERROR;
	struct dbx_stmt *st = NULL;
	const void *sealed;
	size_t sealed_len = 0;
	char *plain = NULL;
	size_t plain_len = 0;
	enum dbx_step step;

	memset(out, 0, sizeof *out);
	if (session_id_hash(cookie, out->id_hash) != 0 ||
	    dbx_prepare_kept(db, with_tokens ? sql : sql_row, &st) != 0)
		goto db_error;
	dbx_bind_text(st, 1, out->id_hash);
	step = dbx_step(st);
	if (step == DBX_DONE) {
		result = SESSION_MISSING;
		goto done;
	}
	if (step != DBX_ROW)
		goto db_error;
	if (with_tokens) {
		sealed = dbx_column_blob(st, 3, &sealed_len);
		if (token_box_open(cookie, sealed, sealed_len, &plain, &plain_len) != 0) {
			result = SESSION_MISSING;
			goto done;
		}
	}
	out->subject = dbx_column_strdup(st, 0);
	out->email = dbx_column_strdup(st, 1);
	out->groups_json = dbx_column_strdup(st, 2);
	out->access_expires_at = dbx_column_int64(st, 4);
	out->id_token_expires_at = dbx_column_int64(st, 5);
	out->created_at = dbx_column_int64(st, 6);
	out->last_seen_at = dbx_column_int64(st, 7);
	out->absolute_expires_at = dbx_column_int64(st, 8);
	out->refresh_claimed_until = dbx_column_int64(st, 9);
	if (!out->subject || (with_tokens && tokens_from_json(plain, &out->tokens) != 0)) {
		snprintf(err, errlen, "corrupt login session row");
		goto done;
	}
	out->tokens_loaded = with_tokens;
	result = SESSION_FOUND;
	goto done;
db_error:
	snprintf(err, errlen, "cannot read the session: %s", dbx_errmsg(db));
done:
	if (plain) {
		explicit_bzero(plain, plain_len);
		free(plain);
	}
	dbx_finalize(st);
	if (result != SESSION_FOUND)
		login_session_clear(out);
	return result;
}

enum session_lookup session_store_load_dbx(struct dbx *db, const char *cookie,
					   struct login_session *out, char *err, size_t errlen)
{
	return load(db, cookie, true, out, err, errlen);
}

enum session_lookup session_store_load_row_dbx(struct dbx *db, const char *cookie,
					       struct login_session *out, char *err,
					       size_t errlen)
{
	return load(db, cookie, false, out, err, errlen);
}

int session_store_unseal_dbx(struct dbx *db, const char *cookie, struct login_session *s,
			     char *err, size_t errlen)
{
	struct login_session full;

	if (s->tokens_loaded)
		return 0;
	switch (load(db, cookie, true, &full, err, errlen)) {
	case SESSION_FOUND:
		break;
	case SESSION_MISSING:
		snprintf(err, errlen, "the login session is gone");
		return -1;
	case SESSION_ERROR:
		return -1;
	}
	s->tokens = full.tokens;
	memset(&full.tokens, 0, sizeof full.tokens);
	s->tokens_loaded = true;
	login_session_clear(&full);
	return 0;
}

int session_store_touch_dbx(struct dbx *db, const char *id_hash, long long now)
{
	return dbx_run(db, "UPDATE login_sessions SET last_seen_at = ?2 WHERE id_hash = ?1", NULL,
		       "ti", id_hash, now);
}

/* Each way of ending sessions: which rows, as a WHERE clause on ?1. */
static const char *const end_selects[] = {
	"INSERT OR REPLACE INTO login_session_ends (id_hash, subject, reason, ended_at)"
	" SELECT id_hash, subject, ?2, ?3 FROM login_sessions WHERE id_hash = ?1",
	"INSERT OR REPLACE INTO login_session_ends (id_hash, subject, reason, ended_at)"
	" SELECT id_hash, subject, ?2, ?3 FROM login_sessions WHERE subject = ?1",
};
static const char *const pg_end_selects[] = {
	"INSERT INTO login_session_ends (id_hash, subject, reason, ended_at)"
	" SELECT id_hash, subject, ?2, ?3 FROM login_sessions WHERE id_hash = ?1" PG_ENDS_UPSERT,
	"INSERT INTO login_session_ends (id_hash, subject, reason, ended_at)"
	" SELECT id_hash, subject, ?2, ?3 FROM login_sessions WHERE subject = ?1" PG_ENDS_UPSERT,
};
static const char *const end_deletes[] = {
	"DELETE FROM login_sessions WHERE id_hash = ?1",
	"DELETE FROM login_sessions WHERE subject = ?1",
};

/* The record of why and the delete go together, so a terminal never finds its session gone
 * without a reason. */
static int end_sessions(struct dbx *db, int by, const char *key, const char *reason,
			long long now)
{
	if (dbx_begin_write(db) != 0)
		return -1;
	/* ?1 the key, ?2 the reason, ?3 now. */
	if (dbx_run(db, dbx_sql(db, end_selects[by], pg_end_selects[by]), NULL, "tti", key, reason,
		    now) != 0 ||
	    dbx_run(db, end_deletes[by], NULL, "t", key) != 0 || dbx_commit(db) != 0) {
		dbx_rollback(db);
		return -1;
	}
	return 0;
}

int session_store_end_dbx(struct dbx *db, const char *id_hash, const char *reason, long long now)
{
	return end_sessions(db, 0, id_hash, reason, now);
}

int session_store_end_subject_dbx(struct dbx *db, const char *subject, const char *reason,
				  long long now)
{
	return end_sessions(db, 1, subject, reason, now);
}

void login_status_clear(struct login_status *st)
{
	free(st->subject);
	free(st->groups_json);
	memset(st, 0, sizeof *st);
}

/* One indexed read per call, every few seconds per terminal: cheap enough to poll. */
enum session_lookup session_store_status_dbx(struct dbx *db, const char *id_hash,
					     struct login_status *out)
{
	static const char live_sql[] =
		"SELECT subject, groups_json, access_expires_at, last_seen_at, absolute_expires_at"
		" FROM login_sessions WHERE id_hash = ?";
	static const char ended_sql[] = "SELECT reason FROM login_session_ends WHERE id_hash = ?";
	enum session_lookup result = SESSION_ERROR;
	struct dbx_stmt *st = NULL;
	enum dbx_step step;

	memset(out, 0, sizeof *out);
	/* Kept: every bridge's login watch asks this every LOGIN_WATCH_PERIOD_MS. */
	if (dbx_prepare_kept(db, live_sql, &st) != 0)
		return SESSION_ERROR;
	dbx_bind_text(st, 1, id_hash);
	step = dbx_step(st);
	if (step == DBX_ROW) {
		out->subject = dbx_column_strdup(st, 0);
		out->groups_json = dbx_column_strdup(st, 1);
		out->access_expires_at = dbx_column_int64(st, 2);
		out->last_seen_at = dbx_column_int64(st, 3);
		out->absolute_expires_at = dbx_column_int64(st, 4);
		result = out->subject && out->groups_json ? SESSION_FOUND : SESSION_ERROR;
		goto done;
	}
	if (step != DBX_DONE)
		goto done;
	dbx_finalize(st);
	if (dbx_prepare(db, ended_sql, &st) != 0)
		return SESSION_ERROR;
	dbx_bind_text(st, 1, id_hash);
	step = dbx_step(st);
	if (step == DBX_ROW && dbx_column_text(st, 0))
		snprintf(out->end_reason, sizeof out->end_reason, "%s", dbx_column_text(st, 0));
	if (step == DBX_ROW || step == DBX_DONE)
		result = SESSION_MISSING;
done:
	dbx_finalize(st);
	if (result == SESSION_ERROR)
		login_status_clear(out);
	return result;
}

int session_store_release_claim_dbx(struct dbx *db, const char *id_hash)
{
	return dbx_run(db, "UPDATE login_sessions SET refresh_claimed_until = ?2 WHERE id_hash = ?1",
		       NULL, "ti", id_hash, 0LL);
}

int session_store_claim_refresh_dbx(struct dbx *db, const char *id_hash, long long now,
				    int lease_s)
{
	static const char sql[] =
		"UPDATE login_sessions SET refresh_claimed_until = ?2"
		" WHERE id_hash = ?1 AND refresh_claimed_until < ?3";
	struct dbx_stmt *st = NULL;
	int rc = -1;

	/* A single conditional UPDATE is atomic on both engines: exactly one caller changes
	 * the row (PostgreSQL re-checks the WHERE on the row it waited for). */
	if (dbx_prepare(db, sql, &st) != 0)
		return -1;
	dbx_bind_text(st, 1, id_hash);
	dbx_bind_int64(st, 2, now + lease_s);
	dbx_bind_int64(st, 3, now);
	if (dbx_step(st) == DBX_DONE)
		rc = dbx_changes(st) == 1 ? 1 : 0;
	dbx_finalize(st);
	return rc;
}

int session_store_save_refreshed_dbx(struct dbx *db, const char *cookie,
				     const struct login_session *s)
{
	static const char sql[] =
		"UPDATE login_sessions SET tokens_sealed = ?2, access_expires_at = ?3,"
		" id_token_expires_at = ?4, email = ?5, groups_json = ?6, refresh_claimed_until = 0"
		" WHERE id_hash = ?1";
	char id_hash[SESSION_ID_HASH_LEN + 1];
	unsigned char *sealed = NULL;
	size_t sealed_len = 0;
	struct dbx_stmt *st = NULL;
	int rc = -1;

	if (session_id_hash(cookie, id_hash) != 0 ||
	    seal_tokens(cookie, &s->tokens, &sealed, &sealed_len) != 0 ||
	    dbx_prepare(db, sql, &st) != 0)
		goto done;
	dbx_bind_text(st, 1, id_hash);
	dbx_bind_blob(st, 2, sealed, sealed_len);
	dbx_bind_int64(st, 3, s->access_expires_at);
	dbx_bind_int64(st, 4, s->id_token_expires_at);
	dbx_bind_text_or_null(st, 5, s->email);
	dbx_bind_text(st, 6, s->groups_json ? s->groups_json : "[]");
	if (dbx_step(st) == DBX_DONE)
		rc = 0;
done:
	dbx_finalize(st);
	free(sealed);
	return rc;
}

int session_store_purge_dbx(struct dbx *db, long long now, int idle_timeout_s)
{
	static const char *const steps[] = {
		"INSERT OR REPLACE INTO login_session_ends (id_hash, subject, reason, ended_at)"
		" SELECT id_hash, subject, '" SESSION_END_EXPIRED "', ?1 FROM login_sessions"
		" WHERE absolute_expires_at <= ?1 OR last_seen_at + ?2 <= ?1",
		"DELETE FROM login_sessions WHERE absolute_expires_at <= ?1 OR last_seen_at + ?2 <= ?1",
		"DELETE FROM login_session_ends WHERE ended_at <= ?1 - ?3",
	};
	static const char pg_first_step[] =
		"INSERT INTO login_session_ends (id_hash, subject, reason, ended_at)"
		" SELECT id_hash, subject, '" SESSION_END_EXPIRED "', ?1 FROM login_sessions"
		" WHERE absolute_expires_at <= ?1 OR last_seen_at + ?2 <= ?1" PG_ENDS_UPSERT;

	if (dbx_begin_write(db) != 0)
		return -1;
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		struct dbx_stmt *st = NULL;
		enum dbx_step step = DBX_ERROR;

		if (dbx_prepare(db, i == 0 ? dbx_sql(db, steps[0], pg_first_step) : steps[i],
				&st) == 0) {
			dbx_bind_int64(st, 1, now);
			dbx_bind_int64(st, 2, idle_timeout_s);
			if (dbx_param_count(st) >= 3)
				dbx_bind_int64(st, 3, SESSION_END_KEEP_S);
			step = dbx_step(st);
		}
		dbx_finalize(st);
		if (step != DBX_DONE) {
			dbx_rollback(db);
			return -1;
		}
	}
	return dbx_commit(db);
}

/* The sqlite3 * API (session_store.h), for the callers that hold a SQLite handle until
 * they are ported: the same code on a borrowed connection. */

int session_store_insert(sqlite3 *db, const char *cookie, const struct login_session *s,
			 char *err, size_t errlen)
{
	struct dbx x;

	dbx_borrow_sqlite(&x, db);
	return session_store_insert_dbx(&x, cookie, s, err, errlen);
}

enum session_lookup session_store_load(sqlite3 *db, const char *cookie, struct login_session *out,
				       char *err, size_t errlen)
{
	struct dbx x;

	dbx_borrow_sqlite(&x, db);
	return load(&x, cookie, true, out, err, errlen);
}

enum session_lookup session_store_load_row(sqlite3 *db, const char *cookie,
					   struct login_session *out, char *err, size_t errlen)
{
	struct dbx x;

	dbx_borrow_sqlite(&x, db);
	return load(&x, cookie, false, out, err, errlen);
}

int session_store_unseal(sqlite3 *db, const char *cookie, struct login_session *s, char *err,
			 size_t errlen)
{
	struct dbx x;

	dbx_borrow_sqlite(&x, db);
	return session_store_unseal_dbx(&x, cookie, s, err, errlen);
}

int session_store_touch(sqlite3 *db, const char *id_hash, long long now)
{
	struct dbx x;

	dbx_borrow_sqlite(&x, db);
	return session_store_touch_dbx(&x, id_hash, now);
}

int session_store_end(sqlite3 *db, const char *id_hash, const char *reason, long long now)
{
	struct dbx x;

	dbx_borrow_sqlite(&x, db);
	return session_store_end_dbx(&x, id_hash, reason, now);
}

int session_store_end_subject(sqlite3 *db, const char *subject, const char *reason,
			      long long now)
{
	struct dbx x;

	dbx_borrow_sqlite(&x, db);
	return session_store_end_subject_dbx(&x, subject, reason, now);
}

enum session_lookup session_store_status(sqlite3 *db, const char *id_hash,
					 struct login_status *out)
{
	struct dbx x;

	dbx_borrow_sqlite(&x, db);
	return session_store_status_dbx(&x, id_hash, out);
}

int session_store_release_claim(sqlite3 *db, const char *id_hash)
{
	struct dbx x;

	dbx_borrow_sqlite(&x, db);
	return session_store_release_claim_dbx(&x, id_hash);
}

int session_store_claim_refresh(sqlite3 *db, const char *id_hash, long long now, int lease_s)
{
	struct dbx x;

	dbx_borrow_sqlite(&x, db);
	return session_store_claim_refresh_dbx(&x, id_hash, now, lease_s);
}

int session_store_save_refreshed(sqlite3 *db, const char *cookie, const struct login_session *s)
{
	struct dbx x;

	dbx_borrow_sqlite(&x, db);
	return session_store_save_refreshed_dbx(&x, cookie, s);
}

int session_store_purge(sqlite3 *db, long long now, int idle_timeout_s)
{
	struct dbx x;

	dbx_borrow_sqlite(&x, db);
	return session_store_purge_dbx(&x, now, idle_timeout_s);
}
