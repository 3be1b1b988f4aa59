#include "store/login_attempts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/dbx.h"

void login_attempt_clear(struct login_attempt *a)
{
	if (a->code_verifier)
		explicit_bzero(a->code_verifier, strlen(a->code_verifier));
	free(a->nonce);
	free(a->code_verifier);
	free(a->return_to);
	memset(a, 0, sizeof *a);
}

/* PostgreSQL has no rowid: sql/pg/004 gives oidc_logins an identity column, seq, in its
 * place; and "no limit" is LIMIT ALL. Its put runs under an advisory lock, so that the
 * bounds hold when sign-ins start on several replicas at once (SQLite's BEGIN IMMEDIATE
 * does that for one machine). */
#define PG_ATTEMPTS_LOCK "SELECT pg_advisory_xact_lock(hashtext('periscope.login_attempts'))"

int login_attempt_put_dbx(struct dbx *db, const char *client, const char *state,
			  const char *nonce, const char *verifier, const char *return_to,
			  long long now)
{
	static const char insert_sql[] = "INSERT INTO oidc_logins (state, nonce, code_verifier,"
					 " return_to, created_at, client) VALUES (?,?,?,?,?,?)";
	/* Newest first; everything past the newest (bound - 1) goes, making room for this one. */
	static const char evict_client_sql[] =
		"DELETE FROM oidc_logins WHERE rowid IN (SELECT rowid FROM oidc_logins"
		" WHERE client = ?1 ORDER BY created_at DESC, rowid DESC LIMIT -1 OFFSET ?2)";
	static const char evict_client_pg[] =
		"DELETE FROM oidc_logins WHERE seq IN (SELECT seq FROM oidc_logins"
		" WHERE client = ?1 ORDER BY created_at DESC, seq DESC LIMIT ALL OFFSET ?2)";
	static const char evict_total_sql[] =
		"DELETE FROM oidc_logins WHERE rowid IN (SELECT rowid FROM oidc_logins"
		" ORDER BY created_at DESC, rowid DESC LIMIT -1 OFFSET ?1)";
	static const char evict_total_pg[] =
		"DELETE FROM oidc_logins WHERE seq IN (SELECT seq FROM oidc_logins"
		" ORDER BY created_at DESC, seq DESC LIMIT ALL OFFSET ?1)";
	char who[LOGIN_ATTEMPT_CLIENT_MAX + 1];
	struct dbx_stmt *st = NULL;

	if (!return_to || strlen(return_to) > LOGIN_ATTEMPT_RETURN_TO_MAX)
		return_to = "/";
	snprintf(who, sizeof who, "%s", client ? client : "");
	if (dbx_begin_write(db) != 0)
		return -1;
	if ((db->engine == DBX_POSTGRES && dbx_exec(db, PG_ATTEMPTS_LOCK) != 0) ||
	    dbx_run(db, "DELETE FROM oidc_logins WHERE created_at < ?1", NULL, "i",
		    now - LOGIN_ATTEMPT_MAX_AGE_S) != 0 ||
	    dbx_run(db, dbx_sql(db, evict_client_sql, evict_client_pg), NULL, "ti", who,
		    (long long)(LOGIN_ATTEMPT_MAX_PER_CLIENT - 1)) != 0 ||
	    dbx_run(db, dbx_sql(db, evict_total_sql, evict_total_pg), NULL, "i",
		    (long long)(LOGIN_ATTEMPT_MAX_TOTAL - 1)) != 0 ||
	    dbx_prepare(db, insert_sql, &st) != 0)
		goto fail;
	dbx_bind_text(st, 1, state);
	dbx_bind_text(st, 2, nonce);
	dbx_bind_text(st, 3, verifier);
	dbx_bind_text(st, 4, return_to);
	dbx_bind_int64(st, 5, now);
	dbx_bind_text(st, 6, who);
	if (dbx_step(st) != DBX_DONE)
		goto fail;
	dbx_finalize(st);
	if (dbx_commit(db) != 0)
		goto fail_rollback;
	return 0;
fail:
	dbx_finalize(st);
fail_rollback:
	dbx_rollback(db);
	return -1;
}

int login_attempt_put(sqlite3 *db, const char *client, const char *state, const char *nonce,
		      const char *verifier, const char *return_to, long long now)
{
	struct dbx x;

	dbx_borrow_sqlite(&x, db);
	return login_attempt_put_dbx(&x, client, state, nonce, verifier, return_to, now);
}

int login_attempt_take_dbx(struct dbx *db, const char *state, long long now,
			   struct login_attempt *out)
{
	static const char sql[] = "DELETE FROM oidc_logins WHERE state = ?"
				  " RETURNING nonce, code_verifier, return_to, created_at";
	struct dbx_stmt *st = NULL;
	enum dbx_step step;
	int rc = -1;

	memset(out, 0, sizeof *out);
	if (dbx_prepare(db, sql, &st) != 0)
		return -1;
	dbx_bind_text(st, 1, state);
	step = dbx_step(st);
	if (step == DBX_DONE) {
		rc = 0;
	} else if (step == DBX_ROW) {
		if (dbx_column_int64(st, 3) < now - LOGIN_ATTEMPT_MAX_AGE_S) {
			rc = 0;
		} else {
			out->nonce = dbx_column_strdup(st, 0);
			out->code_verifier = dbx_column_strdup(st, 1);
			out->return_to = dbx_column_strdup(st, 2);
			rc = (out->nonce && out->code_verifier && out->return_to) ? 1 : -1;
		}
		/* Finish the statement so the DELETE is applied. */
		while (dbx_step(st) == DBX_ROW)
			;
	}
	dbx_finalize(st);
	if (rc != 1)
		login_attempt_clear(out);
	return rc;
}

int login_attempt_take(sqlite3 *db, const char *state, long long now, struct login_attempt *out)
{
	struct dbx x;

	dbx_borrow_sqlite(&x, db);
	return login_attempt_take_dbx(&x, state, now, out);
}
