#include "auth/auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/authz.h"
#include "core/log.h"

#define REFRESH_LEASE_S 15
#define REFRESH_WAIT_MS 5000

void identity_clear(struct identity *id)
{
	free(id->subject);
	free(id->email);
	json_decref(id->groups);
	memset(id, 0, sizeof *id);
}

char *cookie_value(const char *header, const char *name)
{
	size_t name_len = strlen(name);
	const char *p = header;

	while (p && *p) {
		const char *end;
		while (*p == ' ' || *p == ';')
			p++;
		end = strchr(p, ';');
		if (!end)
			end = p + strlen(p);
		if ((size_t)(end - p) > name_len + 1 && strncmp(p, name, name_len) == 0 &&
		    p[name_len] == '=')
			return strndup(p + name_len + 1, (size_t)(end - p - (ptrdiff_t)name_len - 1));
		p = end;
	}
	return NULL;
}

int auth_provider(struct auth_ctx *ctx, struct oidc_provider **out, char *err, size_t errlen)
{
	if (!*ctx->provider && oidc_discover(&ctx->cfg->oidc, ctx->tally, ctx->provider, err, errlen) != 0)
		return -1;
	*out = *ctx->provider;
	return 0;
}

int identity_fill(const struct config *cfg, const char *subject, const char *email,
		  const char *groups_json, struct identity *out)
{
	json_t *groups = groups_json ? json_loads(groups_json, 0, NULL) : json_array();

	if (!groups || !json_is_array(groups)) {
		json_decref(groups);
		return -1;
	}
	out->subject = strdup(subject);
	out->email = email ? strdup(email) : NULL;
	out->groups = groups;
	out->tier = authz_resolve_tier(&cfg->authz, groups);
	out->audit_admin = authz_is_audit_admin(&cfg->authz, groups, out->tier);
	return out->subject ? 0 : -1;
}

static long long token_exp(const char *jwt)
{
	json_t *payload = NULL;
	long long exp = 0;

	if (jwt && jwt_payload_unverified(jwt, &payload) == 0) {
		json_t *e = json_object_get(payload, "exp");
		if (json_is_integer(e))
			exp = json_integer_value(e);
	}
	json_decref(payload);
	return exp;
}

static void take(char **dst, char **src)
{
	if (*src) {
		if (*dst) {
			explicit_bzero(*dst, strlen(*dst));
			free(*dst);
		}
		*dst = *src;
		*src = NULL;
	}
}

static void replace_string(char **dst, const char *value)
{
	char *copy = value ? strdup(value) : NULL;

	if (value && !copy)
		return;
	free(*dst);
	*dst = copy;
}

/* A refreshed id_token carries the user's current groups: a user moved out of a group loses
 * its tier at the next refresh, and with it every terminal the tier no longer allows. The
 * token is verified as at sign-in (without a nonce, which a refresh does not carry) and must
 * name the same subject. An IdP that leaves the groups claim out of refreshed tokens keeps
 * the groups of the sign-in. */
static int adopt_refreshed_identity(struct auth_ctx *ctx, struct oidc_provider *p,
				    struct login_session *s, long long now, char *err, size_t errlen)
{
	const char *claim = ctx->cfg->authz.groups_claim, *sub;
	json_t *claims = NULL, *groups = NULL;
	char *groups_json = NULL;
	int rc = -1;

	if (oidc_verify_id_token(p, s->tokens.id_token, NULL, now, &claims, err, errlen) != IDTOKEN_OK)
		goto done;
	sub = json_string_value(json_object_get(claims, "sub"));
	if (!sub || strcmp(sub, s->subject) != 0) {
		snprintf(err, errlen, "the refreshed id_token names another subject");
		goto done;
	}
	if (json_is_string(json_object_get(claims, "email")))
		replace_string(&s->email, json_string_value(json_object_get(claims, "email")));
	groups = claim && *claim ? authz_groups_from_claims(claims, claim) : NULL;
	if (groups) {
		groups_json = json_dumps(groups, JSON_COMPACT);
		if (!groups_json) {
			snprintf(err, errlen, "out of memory");
			goto done;
		}
		free(s->groups_json);
		s->groups_json = groups_json;
	}
	rc = 0;
done:
	json_decref(groups);
	json_decref(claims);
	return rc;
}

/* Runs the refresh grant and stores the result; the caller holds the claim. */
static int do_refresh(struct auth_ctx *ctx, const char *cookie, struct login_session *s,
		      long long now, char *err, size_t errlen)
{
	struct oidc_provider *p;
	struct oidc_tokens fresh = { 0 };
	bool new_id_token;
	int rc = -1;

	if (auth_provider(ctx, &p, err, errlen) != 0 ||
	    oidc_refresh(p, s->tokens.refresh_token, &fresh, err, errlen) != 0)
		goto done;
	new_id_token = fresh.id_token != NULL;
	/* Keep the old refresh token unless rotated, the old id_token unless a new one came. */
	take(&s->tokens.access_token, &fresh.access_token);
	take(&s->tokens.refresh_token, &fresh.refresh_token);
	take(&s->tokens.id_token, &fresh.id_token);
	if (new_id_token && adopt_refreshed_identity(ctx, p, s, now, err, errlen) != 0)
		goto done;
	s->access_expires_at = fresh.expires_in > 0 ? now + fresh.expires_in : 0;
	s->id_token_expires_at = token_exp(s->tokens.id_token);
	if (session_store_save_refreshed_dbx(ctx->db, cookie, s) != 0) {
		snprintf(err, errlen, "cannot store refreshed tokens: %s", dbx_errmsg(ctx->db));
		goto done;
	}
	log_json(LOG_INFO, "auth", "tokens refreshed", json_pack("{s:s}", "sub", s->subject));
	rc = 0;
done:
	oidc_tokens_clear(&fresh);
	return rc;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Another request holds the refresh claim: wait (bounded) for its new tokens. 0 when the
 * session now carries newer tokens, 1 when it did not change in time, -1 when gone. */
static int wait_for_refresh(struct auth_ctx *ctx, const char *cookie, struct login_session *s,
			    char *err, size_t errlen)
{
	long long before = s->access_expires_at;

	for (int waited = 0; waited < REFRESH_WAIT_MS; waited += 100) {
		struct login_session again;
		sleep_ms(100);
		if (session_store_load_dbx(ctx->db, cookie, &again, err, errlen) != SESSION_FOUND)
			return -1;
		if (again.access_expires_at != before || again.refresh_claimed_until == 0) {
			login_session_clear(s);
			*s = again;
			return 0;
		}
		login_session_clear(&again);
	}
	return 1;
}

static bool same_text(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Just claimed: but a request that read the session before another's refresh was saved
 * (which releases its claim) claims after it, and would refresh a second time, spending a
 * rotated refresh token twice (an IdP that detects reuse revokes the whole grant). Saving
 * and releasing are one UPDATE, so the row read now, under our claim, tells: the tokens we
 * saw (1: refresh them), or newer ones, taken instead (0: claim released), -1 error. The
 * expiry times come from the first read and the tokens from the unseal after it, so any of
 * the three that differs means a refresh was saved since. */
static int still_the_tokens_we_saw(struct auth_ctx *ctx, const char *cookie,
				   struct login_session *s, char *err, size_t errlen)
{
	struct login_session again;

	if (session_store_load_dbx(ctx->db, cookie, &again, err, errlen) != SESSION_FOUND)
		return -1;
	if (again.access_expires_at == s->access_expires_at &&
	    again.id_token_expires_at == s->id_token_expires_at &&
	    same_text(again.tokens.access_token, s->tokens.access_token)) {
		login_session_clear(&again);
		return 1;
	}
	login_session_clear(s);
	*s = again;
	if (session_store_release_claim_dbx(ctx->db, s->id_hash) != 0)
		log_json(LOG_WARN, "auth", "refresh claim not released (it lapses by itself)",
			 json_pack("{s:s, s:s}", "sub", s->subject, "error", dbx_errmsg(ctx->db)));
	return 0;
}

/* Makes sure the session's tokens are fresh enough: min_validity_s is how long the token
 * that matters must still be valid. 0 ok, 1 must sign in again, -1 error. */
static int ensure_fresh(struct auth_ctx *ctx, const char *cookie, struct login_session *s,
			long long now, bool want_id_token, int min_validity_s, char *err,
			size_t errlen)
{
	long long exp = want_id_token ? s->id_token_expires_at : s->access_expires_at;
	int claimed;

	if (exp == 0 || exp - now > min_validity_s)
		return 0;
	if (session_store_unseal_dbx(ctx->db, cookie, s, err, errlen) != 0)
		return -1;
	if (!s->tokens.refresh_token)
		return exp > now && !want_id_token ? 0 : 1;
	claimed = session_store_claim_refresh_dbx(ctx->db, s->id_hash, now, REFRESH_LEASE_S);
	if (claimed < 0) {
		snprintf(err, errlen, "cannot claim the refresh: %s", dbx_errmsg(ctx->db));
		return -1;
	}
	if (claimed == 0) {
		/* Someone else is refreshing; an access token that is still valid will do. */
		if (!want_id_token && exp > now)
			return 0;
		if (wait_for_refresh(ctx, cookie, s, err, errlen) < 0)
			return -1;
	} else {
		claimed = still_the_tokens_we_saw(ctx, cookie, s, err, errlen);
		if (claimed < 0) {
			session_store_release_claim_dbx(ctx->db, s->id_hash);
			return -1;
		}
		if (claimed == 1 && do_refresh(ctx, cookie, s, now, err, errlen) != 0) {
			session_store_release_claim_dbx(ctx->db, s->id_hash);
			log_json(LOG_WARN, "auth", "token refresh failed",
				 json_pack("{s:s, s:s}", "sub", s->subject, "error", err));
			if (!want_id_token && exp > now)
				return 0;
			return 1;
		}
	}
	exp = want_id_token ? s->id_token_expires_at : s->access_expires_at;
	if (want_id_token && exp - now <= min_validity_s)
		return 1;
	return exp != 0 && exp <= now ? 1 : 0;
}

static int touch_granularity(int idle_timeout_s)
{
	int g = idle_timeout_s / 4;

	return g < 1 ? 1 : g > 5 ? 5 : g;
}

static enum session_lookup load_live_session(struct auth_ctx *ctx, const char *cookie,
					     long long now, struct login_session *s, char *err,
					     size_t errlen)
{
	enum session_lookup found;

	if (!cookie || !*cookie || strlen(cookie) > 128)
		return SESSION_MISSING;
	found = session_store_load_row_dbx(ctx->db, cookie, s, err, errlen);
	if (found != SESSION_FOUND)
		return found;
	if (s->absolute_expires_at <= now ||
	    s->last_seen_at + ctx->cfg->session.idle_timeout_s <= now) {
		session_store_end_dbx(ctx->db, s->id_hash, SESSION_END_EXPIRED, now);
		login_session_clear(s);
		return SESSION_MISSING;
	}
	return SESSION_FOUND;
}

/* Loads the live session and refreshes its tokens when due; with touch, records the
 * request as activity. */
static enum auth_status check_session(struct auth_ctx *ctx, const char *cookie, long long now,
				      bool touch, struct login_session *s, char *err, size_t errlen)
{
	int fresh;

	switch (load_live_session(ctx, cookie, now, s, err, errlen)) {
	case SESSION_MISSING:
		return AUTH_NO_SESSION;
	case SESSION_ERROR:
		return AUTH_ERROR;
	case SESSION_FOUND:
		break;
	}
	fresh = ensure_fresh(ctx, cookie, s, now, false, ctx->cfg->session.refresh_before_s, err,
			     errlen);
	if (fresh == 1) {
		/* The IdP no longer vouches for this session: it ends here. */
		session_store_end_dbx(ctx->db, s->id_hash, SESSION_END_EXPIRED, now);
		login_session_clear(s);
		return AUTH_NO_SESSION;
	}
	if (fresh < 0) {
		login_session_clear(s);
		return AUTH_ERROR;
	}
	if (touch)
		auth_note_activity(ctx, s->id_hash, s->last_seen_at, now);
	return AUTH_OK;
}

void auth_note_activity(struct auth_ctx *ctx, const char *id_hash, long long last_seen_at,
			long long now)
{
	/* Record activity at most every few seconds (a write per request would serialize the
	 * workers on SQLite's write lock), but often enough for the idle timeout to be exact to
	 * a quarter of itself. */
	if (now - last_seen_at >= touch_granularity(ctx->cfg->session.idle_timeout_s))
		session_store_touch_dbx(ctx->db, id_hash, now);
}

enum auth_status auth_from_cookie(struct auth_ctx *ctx, const char *cookie, long long now,
				  struct identity *out, char *err, size_t errlen)
{
	struct login_session s;
	enum auth_status status;

	memset(out, 0, sizeof *out);
	status = check_session(ctx, cookie, now, true, &s, err, errlen);
	if (status != AUTH_OK)
		return status;
	if (identity_fill(ctx->cfg, s.subject, s.email, s.groups_json, out) != 0) {
		snprintf(err, errlen, "corrupt session identity");
		identity_clear(out);
		status = AUTH_ERROR;
		goto done;
	}
	out->expires_at = s.absolute_expires_at;
	memcpy(out->id_hash, s.id_hash, sizeof out->id_hash);
done:
	login_session_clear(&s);
	return status;
}

enum auth_status auth_refresh_due(struct auth_ctx *ctx, const char *cookie, long long now,
				  char *err, size_t errlen)
{
	struct login_session s;
	enum auth_status status = check_session(ctx, cookie, now, false, &s, err, errlen);

	if (status == AUTH_OK)
		login_session_clear(&s);
	return status;
}

int auth_fresh_id_token(struct auth_ctx *ctx, const char *cookie, long long now,
			int min_validity_s, char **id_token, char *err, size_t errlen)
{
	struct login_session s;
	int rc;

	*id_token = NULL;
	switch (load_live_session(ctx, cookie, now, &s, err, errlen)) {
	case SESSION_MISSING:
		return 1;
	case SESSION_ERROR:
		return -1;
	case SESSION_FOUND:
		break;
	}
	rc = ensure_fresh(ctx, cookie, &s, now, true, min_validity_s, err, errlen);
	if (rc == 0 && session_store_unseal_dbx(ctx->db, cookie, &s, err, errlen) != 0)
		rc = -1;
	if (rc == 0 && !s.tokens.id_token)
		rc = 1;
	if (rc == 0 && !(*id_token = strdup(s.tokens.id_token)))
		rc = -1;
	login_session_clear(&s);
	return rc;
}
