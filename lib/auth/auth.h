/* Request authentication from the session cookie, shared by periscope.fcgi and
 * periscope-wsbridge (which must never trust a header: websocketd forwards them all).
 * Enforces the idle and absolute timeouts and refreshes the tokens before the access
 * token expires, once per session however many requests race (session_store.h). */
#ifndef PERISCOPE_AUTH_H
#define PERISCOPE_AUTH_H

#include "metrics/upstream_tally.h"
#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "auth/oidc_client.h"
#include "store/session_store.h"
#include "auth/tiers.h"

struct identity {
	char *subject;
	char *email;
	json_t *groups;              /* array of strings, never NULL once authenticated */
	enum tier tier;
	bool audit_admin;
	long long expires_at;        /* absolute session expiry, unix seconds */
	char id_hash[SESSION_ID_HASH_LEN + 1];
};

void identity_clear(struct identity *id);

/* What a request needs to authenticate. provider is discovered lazily and cached in the
 * caller's context (one per thread or process). */
struct auth_ctx {
	const struct config *cfg;
	struct dbx *db;                 /* login sessions (store/session_store.h, either engine) */
	struct oidc_provider **provider;
	struct upstream_tally *tally;   /* upstream requests counted for the metrics, or NULL */
};

int auth_provider(struct auth_ctx *ctx, struct oidc_provider **out, char *err, size_t errlen);

enum auth_status { AUTH_OK, AUTH_NO_SESSION, AUTH_ERROR };
/* cookie is the session cookie's value (NULL when absent). */
enum auth_status auth_from_cookie(struct auth_ctx *ctx, const char *cookie, long long now,
				  struct identity *out, char *err, size_t errlen);

/* For a terminal that re-checks its session: refreshes the tokens when due, exactly as
 * auth_from_cookie would (so the groups of a fresh id_token apply), but does not count as
 * activity. AUTH_NO_SESSION when the session ended (now or before). */
enum auth_status auth_refresh_due(struct auth_ctx *ctx, const char *cookie, long long now,
				  char *err, size_t errlen);
/* Records activity of the session (at most every few seconds) for its idle timeout. */
void auth_note_activity(struct auth_ctx *ctx, const char *id_hash, long long last_seen_at,
			long long now);

/* The session's id_token, refreshed first when it expires within min_validity_s.
 * 0 and a malloc'd token; 1 when the user must sign in again (no refresh token, refresh
 * refused, or the IdP returned no fresher id_token); -1 on error. */
int auth_fresh_id_token(struct auth_ctx *ctx, const char *cookie, long long now,
			int min_validity_s, char **id_token, char *err, size_t errlen);

/* Value of cookie `name` in a Cookie header, malloc'd, or NULL. */
char *cookie_value(const char *cookie_header, const char *name);

/* Fills identity fields (tier, audit admin) from subject/email/groups per the config. */
int identity_fill(const struct config *cfg, const char *subject, const char *email,
		  const char *groups_json, struct identity *out);

#endif
