/* OIDC authorization requests in flight: state, nonce and PKCE verifier live server-side
 * (the browser's login cookie carries only the state), and each is usable once.
 *
 * Anyone can start a sign-in, so what they store is bounded: each attempt is at most
 * LOGIN_ATTEMPT_ROW_MAX bytes, a client (the REMOTE_ADDR the web server gives) keeps at
 * most LOGIN_ATTEMPT_MAX_PER_CLIENT attempts and everyone together at most
 * LOGIN_ATTEMPT_MAX_TOTAL (the oldest are evicted first), and an attempt expires after
 * LOGIN_ATTEMPT_MAX_AGE_S. None of this is audit data: it never counts against the audit
 * budget (store/audit_retention.h). */
#ifndef PERISCOPE_LOGIN_ATTEMPTS_H
#define PERISCOPE_LOGIN_ATTEMPTS_H

#include <sqlite3.h>

#define LOGIN_ATTEMPT_MAX_AGE_S 600
#define LOGIN_ATTEMPT_MAX_PER_CLIENT 16
#define LOGIN_ATTEMPT_MAX_TOTAL 1024
/* The longest returnTo kept (a longer one becomes "/") and the longest client name kept. */
#define LOGIN_ATTEMPT_RETURN_TO_MAX 2048
#define LOGIN_ATTEMPT_CLIENT_MAX 64
/* state, nonce and verifier are fixed-size random tokens (fcgi/auth_login.c): with the two
 * caps above and the timestamp, no row is larger than this. */
#define LOGIN_ATTEMPT_ROW_MAX 2304

struct login_attempt {
	char *nonce;
	char *code_verifier;
	char *return_to;
};

void login_attempt_clear(struct login_attempt *a);
/* Stores an attempt for client (NULL or "" = unknown, which counts as one client), after
 * dropping expired attempts and evicting the oldest over the bounds, in one transaction.
 * 0 or -1. */
int login_attempt_put(sqlite3 *db, const char *client, const char *state, const char *nonce,
		      const char *verifier, const char *return_to, long long now);
/* Removes the attempt and hands it over. 1 found (and fresh), 0 unknown or stale, -1 error. */
int login_attempt_take(sqlite3 *db, const char *state, long long now, struct login_attempt *out);

/* The same on either engine (store/dbx.h). On PostgreSQL the put runs under an advisory
 * lock, so the bounds hold across replicas; the take's DELETE ... RETURNING hands an
 * attempt to one replica only. */
struct dbx;
int login_attempt_put_dbx(struct dbx *db, const char *client, const char *state,
			  const char *nonce, const char *verifier, const char *return_to,
			  long long now);
int login_attempt_take_dbx(struct dbx *db, const char *state, long long now,
			   struct login_attempt *out);

#endif
