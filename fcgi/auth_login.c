/* Sign-in: GET /api/auth/login starts the authorization code flow (PKCE S256, state,
 * nonce); GET /api/auth/callback finishes it, verifies the id_token and opens a session. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/audit.h"
#include "auth/authz.h"
#include "core/encoding.h"
#include "handlers.h"
#include "core/log.h"
#include "store/login_attempts.h"
#include "net/client_addr.h"
#include "store/audit_refusal.h"
#include "router.h"
#include "core/timeutil.h"

#define LOGIN_COOKIE "periscope_login"
#define LOGIN_COOKIE_PATH "/api/auth"

/* Only same-site paths: anything else would make sign-in an open redirect. */
static const char *safe_return_to(const char *target)
{
	if (!target || target[0] != '/' || target[1] == '/' || target[1] == '\\' ||
	    strlen(target) > LOGIN_ATTEMPT_RETURN_TO_MAX)
		return "/";
	for (const char *p = target; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == '\\' || *p == 0x7f)
			return "/";
	return target;
}

/* Anyone can fail a sign-in as often as they like: the failures are aggregated per actor
 * (or anonymous) and kind of reason (the part before ':') per minute, as refusals are
 * (store/audit_refusal.h). */
static void audit_login_failure(struct request *rq, const char *reason, const char *sub)
{
	char code[64], client[CLIENT_ADDR_MAX];
	struct audit_refusal r = { .verb = "login", .outcome = "failure", .code = code,
				   .reason = reason, .actor_sub = sub, .client = client,
				   .via = "callback", .request_id = rq->request_id,
				   .route = rq->route,
				   .window_s = rq->w->cfg->audit.refusal_window_s };

	snprintf(code, sizeof code, "%.*s", (int)strcspn(reason, ":"), reason);
	client_address(request_env(rq, "REMOTE_ADDR"), NULL, client, sizeof client);
	if (audit_refusal_record_dbx(rq->w->dbx, &r, now_ms() / 1000) < 0)
		log_json(LOG_ERROR, "auth", "sign-in failure not audited",
			 json_pack("{s:s, s:s}", "request_id", rq->request_id, "reason", reason));
}

void handle_auth_login(struct request *rq)
{
	struct oidc_provider *p;
	char err[256];
	char *state = random_token(16), *nonce = random_token(16), *verifier = random_token(32);
	char *url = NULL;

	if (!state || !nonce || !verifier) {
		respond_error(rq, 500, "E_INTERNAL", "no randomness available", NULL);
		goto done;
	}
	if (auth_provider(&rq->w->auth, &p, err, sizeof err) != 0) {
		log_json(LOG_ERROR, "auth", "identity provider unavailable",
			 json_pack("{s:s, s:s}", "request_id", rq->request_id, "error", err));
		respond_error(rq, 502, "E_IDP_UNAVAILABLE",
			      "the identity provider cannot be reached; try again shortly", NULL);
		goto done;
	}
	/* Bounded per client (the address the web server saw) and in total. */
	if (login_attempt_put_dbx(rq->w->dbx, request_env(rq, "REMOTE_ADDR"), state, nonce, verifier,
			      safe_return_to(query_get(&rq->query, "returnTo")), now_ms() / 1000) != 0 ||
	    !(url = oidc_authorize_url(p, state, nonce, verifier))) {
		respond_error(rq, 500, "E_INTERNAL", "could not start the sign-in", NULL);
		goto done;
	}
	set_cookie(rq, LOGIN_COOKIE, state, LOGIN_COOKIE_PATH, LOGIN_ATTEMPT_MAX_AGE_S);
	respond_redirect(rq, url);
done:
	free(state);
	free(nonce);
	if (verifier)
		explicit_bzero(verifier, strlen(verifier));
	free(verifier);
	free(url);
}

/* The IdP's error parameter is attacker-reachable text: keep it to a plain token. */
static void plain_token(const char *in, char *out, size_t outlen)
{
	size_t n = 0;

	for (; in && *in && n + 1 < outlen; in++)
		if ((*in >= 'a' && *in <= 'z') || *in == '_')
			out[n++] = *in;
	out[n] = '\0';
}

static int open_session(struct request *rq, struct oidc_tokens *tokens, json_t *claims,
			json_t *groups, const struct login_attempt *attempt)
{
	const struct config *cfg = rq->w->cfg;
	long long now = now_ms() / 1000;
	struct login_session s = { 0 };
	char err[256];
	char *cookie = random_token(32), *groups_json = json_dumps(groups, JSON_COMPACT);
	json_t *exp = json_object_get(claims, "exp");
	int rc = -1;

	if (!cookie || !groups_json)
		goto done;
	s.subject = (char *)json_string_value(json_object_get(claims, "sub"));
	s.email = (char *)json_string_value(json_object_get(claims, "email"));
	s.groups_json = groups_json;
	s.tokens.access_token = tokens->access_token;
	s.tokens.refresh_token = tokens->refresh_token;
	s.tokens.id_token = tokens->id_token;
	s.access_expires_at = tokens->expires_in > 0 ? now + tokens->expires_in : 0;
	s.id_token_expires_at = json_is_integer(exp) ? json_integer_value(exp) : 0;
	s.created_at = now;
	s.last_seen_at = now;
	s.absolute_expires_at = now + cfg->session.absolute_timeout_s;
	if (session_store_insert_dbx(rq->w->dbx, cookie, &s, err, sizeof err) != 0) {
		log_msg(LOG_ERROR, "auth", "%s", err);
		goto done;
	}
	set_cookie(rq, cfg->session.cookie_name, cookie, "/", cfg->session.absolute_timeout_s);
	/* The audit row names the new session's actor. */
	if (identity_fill(cfg, s.subject, s.email, groups_json, &rq->identity) == 0) {
		struct audit_event ev = { .verb = "login", .outcome = "success" };
		json_t *extra = json_pack("{s:s, s:s?}", "provider", cfg->oidc.provider_name, "tier",
					  rq->identity.tier ? tier_name(rq->identity.tier) : NULL);
		rq->authenticated = true;
		ev.extra = extra;
		audit_request_event(rq, &ev);
		json_decref(extra);
	}
	respond_redirect(rq, attempt->return_to);
	rc = 0;
done:
	if (cookie)
		explicit_bzero(cookie, strlen(cookie));
	free(cookie);
	free(groups_json);
	return rc;
}

/* A refused callback. A browser that came back from the identity provider (a stale tab, the
 * back button, a second click on an old link) goes to the sign-in page, which says what
 * happened in the UI's words and offers to sign in again; an API client gets the JSON.
 * The code is one of ours ([A-Z_]), so it needs no escaping in the address. */
static void refuse_callback(struct request *rq, int status, const char *code, const char *message,
			    json_t *extras)
{
	char location[96];
	int n;

	if (!is_page_navigation(rq)) {
		respond_error(rq, status, code, message, extras);
		return;
	}
	json_decref(extras);
	n = snprintf(location, sizeof location, "/?signInProblem=%s", code);
	respond_redirect(rq, n > 0 && (size_t)n < sizeof location ? location : "/");
}

void handle_auth_callback(struct request *rq)
{
	const struct config *cfg = rq->w->cfg;
	const char *state = query_get(&rq->query, "state"), *code = query_get(&rq->query, "code");
	const char *idp_error = query_get(&rq->query, "error");
	char *cookie_state = cookie_value(rq->cookie_header, LOGIN_COOKIE);
	struct login_attempt attempt = { 0 };
	struct oidc_tokens tokens = { 0 };
	struct oidc_provider *p;
	json_t *claims = NULL, *groups = NULL;
	char err[256], reason[96], code_token[64];
	enum idtoken_result vr;

	/* The login cookie is one-shot whatever happens next. */
	set_cookie(rq, LOGIN_COOKIE, "", LOGIN_COOKIE_PATH, -1);
	if (!state || !cookie_state || strcmp(state, cookie_state) != 0 ||
	    login_attempt_take_dbx(rq->w->dbx, state, now_ms() / 1000, &attempt) != 1) {
		audit_login_failure(rq, "state_mismatch", NULL);
		refuse_callback(rq, 400, "E_LOGIN_EXPIRED",
			      "this sign-in attempt is invalid or expired; start again", NULL);
		goto done;
	}
	if (idp_error) {
		plain_token(idp_error, code_token, sizeof code_token);
		snprintf(reason, sizeof reason, "idp_error:%s", code_token);
		audit_login_failure(rq, reason, NULL);
		refuse_callback(rq, 401, "E_LOGIN_REFUSED", "the identity provider refused the sign-in",
			      json_pack("{s:s}", "idpError", code_token));
		goto done;
	}
	if (!code || !*code) {
		audit_login_failure(rq, "missing_code", NULL);
		refuse_callback(rq, 400, "E_INVALID_REQUEST", "the callback carries no code", NULL);
		goto done;
	}
	if (auth_provider(&rq->w->auth, &p, err, sizeof err) != 0 ||
	    oidc_exchange_code(p, code, attempt.code_verifier, &tokens, err, sizeof err) != 0) {
		log_json(LOG_WARN, "auth", "code exchange failed",
			 json_pack("{s:s, s:s}", "request_id", rq->request_id, "error", err));
		audit_login_failure(rq, "code_exchange_failed", NULL);
		refuse_callback(rq, 502, "E_IDP_UNAVAILABLE", "could not complete the sign-in", NULL);
		goto done;
	}
	if (!tokens.id_token) {
		audit_login_failure(rq, "no_id_token", NULL);
		refuse_callback(rq, 502, "E_IDP_UNAVAILABLE", "the identity provider sent no id_token",
			      NULL);
		goto done;
	}
	vr = oidc_verify_id_token(p, tokens.id_token, attempt.nonce, now_ms() / 1000, &claims, err,
				  sizeof err);
	if (vr != IDTOKEN_OK) {
		snprintf(reason, sizeof reason, "id_token_%s", idtoken_result_name(vr));
		log_json(LOG_WARN, "auth", "id_token refused",
			 json_pack("{s:s, s:s}", "request_id", rq->request_id, "error", err));
		audit_login_failure(rq, reason, NULL);
		refuse_callback(rq, 401, "E_LOGIN_REFUSED", "the id_token did not verify", NULL);
		goto done;
	}
	if (!json_is_string(json_object_get(claims, "sub"))) {
		audit_login_failure(rq, "no_subject", NULL);
		refuse_callback(rq, 401, "E_LOGIN_REFUSED", "the id_token names no subject", NULL);
		goto done;
	}
	groups = cfg->authz.groups_claim && *cfg->authz.groups_claim
			 ? authz_groups_from_claims(claims, cfg->authz.groups_claim)
			 : json_array();
	if (!groups) {
		audit_login_failure(rq, "groups_claim_missing",
				    json_string_value(json_object_get(claims, "sub")));
		refuse_callback(rq, 401, "E_LOGIN_REFUSED",
			      "the id_token carries no groups claim; check auth.authorization.groupsClaim",
			      json_pack("{s:s}", "groupsClaim", cfg->authz.groups_claim));
		goto done;
	}
	if (!authz_may_sign_in(&cfg->authz, groups)) {
		audit_login_failure(rq, "not_in_allowed_groups",
				    json_string_value(json_object_get(claims, "sub")));
		refuse_callback(rq, 403, "E_FORBIDDEN", "you are not in a group allowed to sign in", NULL);
		goto done;
	}
	if (open_session(rq, &tokens, claims, groups, &attempt) != 0)
		refuse_callback(rq, 500, "E_INTERNAL", "could not open the session", NULL);
done:
	free(cookie_state);
	login_attempt_clear(&attempt);
	oidc_tokens_clear(&tokens);
	json_decref(claims);
	json_decref(groups);
}
