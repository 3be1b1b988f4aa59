/* OIDC authorization requests in flight: state, nonce and PKCE verifier live server-side
 * (the browser's login cookie carries only the state), and each is usable once. */
#ifndef PERISCOPE_LOGIN_ATTEMPTS_H
#define PERISCOPE_LOGIN_ATTEMPTS_H

#include <sqlite3.h>

#define LOGIN_ATTEMPT_MAX_AGE_S 600

struct login_attempt {
	char *nonce;
	char *code_verifier;
	char *return_to;
};

void login_attempt_clear(struct login_attempt *a);
int login_attempt_put(sqlite3 *db, const char *state, const char *nonce, const char *verifier,
		      const char *return_to, long long now);
/* Removes the attempt and hands it over. 1 found (and fresh), 0 unknown or stale, -1 error. */
int login_attempt_take(sqlite3 *db, const char *state, long long now, struct login_attempt *out);

#endif
