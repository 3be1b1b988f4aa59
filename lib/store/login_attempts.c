#include "store/login_attempts.h"

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

int login_attempt_put(sqlite3 *db, const char *state, const char *nonce, const char *verifier,
		      const char *return_to, long long now)
{
	static const char sql[] = "INSERT INTO oidc_logins (state, nonce, code_verifier, return_to,"
				  " created_at) VALUES (?,?,?,?,?)";
	sqlite3_stmt *st = NULL;
	int rc = -1;

	/* Old attempts are garbage: sweep them on the way in. */
	sqlite3_stmt *sweep = NULL;
	if (sqlite3_prepare_v2(db, "DELETE FROM oidc_logins WHERE created_at < ?", -1, &sweep,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_int64(sweep, 1, now - LOGIN_ATTEMPT_MAX_AGE_S);
		sqlite3_step(sweep);
	}
	sqlite3_finalize(sweep);

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, nonce, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, verifier, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, return_to ? return_to : "/", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now);
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = 0;
	sqlite3_finalize(st);
	return rc;
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
