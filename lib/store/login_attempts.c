#include "store/login_attempts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"

void login_attempt_clear(struct login_attempt *a)
{
	if (a->code_verifier)
		explicit_bzero(a->code_verifier, strlen(a->code_verifier));
	free(a->nonce);
	free(a->code_verifier);
	free(a->return_to);
	memset(a, 0, sizeof *a);
}

static int exec_bound(sqlite3 *db, const char *sql, const char *text, long long n)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (text)
		sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, n);
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = 0;
	sqlite3_finalize(st);
	return rc;
}

int login_attempt_put(sqlite3 *db, const char *client, const char *state, const char *nonce,
		      const char *verifier, const char *return_to, long long now)
{
	static const char insert_sql[] = "INSERT INTO oidc_logins (state, nonce, code_verifier,"
					 " return_to, created_at, client) VALUES (?,?,?,?,?,?)";
	/* Newest first; everything past the newest (bound - 1) goes, making room for this one. */
	static const char evict_client_sql[] =
		"DELETE FROM oidc_logins WHERE rowid IN (SELECT rowid FROM oidc_logins"
		" WHERE client = ?1 ORDER BY created_at DESC, rowid DESC LIMIT -1 OFFSET ?2)";
	static const char evict_total_sql[] =
		"DELETE FROM oidc_logins WHERE rowid IN (SELECT rowid FROM oidc_logins"
		" ORDER BY created_at DESC, rowid DESC LIMIT -1 OFFSET ?2)";
	char who[LOGIN_ATTEMPT_CLIENT_MAX + 1];
	sqlite3_stmt *st = NULL;

	if (!return_to || strlen(return_to) > LOGIN_ATTEMPT_RETURN_TO_MAX)
		return_to = "/";
	snprintf(who, sizeof who, "%s", client ? client : "");
	if (db_begin_immediate(db) != 0)
		return -1;
	if (exec_bound(db, "DELETE FROM oidc_logins WHERE created_at < ?2", NULL,
		       now - LOGIN_ATTEMPT_MAX_AGE_S) != 0 ||
	    exec_bound(db, evict_client_sql, who, LOGIN_ATTEMPT_MAX_PER_CLIENT - 1) != 0 ||
	    exec_bound(db, evict_total_sql, NULL, LOGIN_ATTEMPT_MAX_TOTAL - 1) != 0 ||
	    sqlite3_prepare_v2(db, insert_sql, -1, &st, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, nonce, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, verifier, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, return_to, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now);
	sqlite3_bind_text(st, 6, who, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	if (db_commit(db) != 0)
		goto fail_rollback;
	return 0;
fail:
	sqlite3_finalize(st);
fail_rollback:
	db_rollback(db);
	return -1;
}

int login_attempt_take(sqlite3 *db, const char *state, long long now, struct login_attempt *out)
{
	static const char sql[] = "DELETE FROM oidc_logins WHERE state = ?"
				  " RETURNING nonce, code_verifier, return_to, created_at";
	sqlite3_stmt *st = NULL;
	int rc = -1, step;

	memset(out, 0, sizeof *out);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_DONE) {
		rc = 0;
	} else if (step == SQLITE_ROW) {
		if (sqlite3_column_int64(st, 3) < now - LOGIN_ATTEMPT_MAX_AGE_S) {
			rc = 0;
		} else {
			out->nonce = db_column_strdup(st, 0);
			out->code_verifier = db_column_strdup(st, 1);
			out->return_to = db_column_strdup(st, 2);
			rc = (out->nonce && out->code_verifier && out->return_to) ? 1 : -1;
		}
		/* Finish the statement so the DELETE is applied. */
		while (sqlite3_step(st) == SQLITE_ROW)
			;
	}
	sqlite3_finalize(st);
	if (rc != 1)
		login_attempt_clear(out);
	return rc;
}
