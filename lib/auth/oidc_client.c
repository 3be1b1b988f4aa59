#include "auth/oidc_client.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/encoding.h"
#include "net/http_client.h"
#include "core/timeutil.h"

#define ID_TOKEN_SKEW_S 60
#define JWKS_REFETCH_MIN_MS 60000

void oidc_tokens_clear(struct oidc_tokens *t)
{
	char **fields[] = { &t->access_token, &t->refresh_token, &t->id_token };

	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		if (*fields[i]) {
			explicit_bzero(*fields[i], strlen(*fields[i]));
			free(*fields[i]);
			*fields[i] = NULL;
		}
	}
	t->expires_in = 0;
}

void oidc_provider_free(struct oidc_provider *p)
{
	if (!p)
		return;
	free(p->issuer);
	free(p->authorization_endpoint);
	free(p->token_endpoint);
	free(p->jwks_uri);
	free(p->end_session_endpoint);
	jwks_free(p->keys);
	free(p);
}

static json_t *get_json(const char *url, struct upstream_tally *tally, char *err, size_t errlen)
{
	struct http_request rq = { .url = url, .headers = (const char *const[]){ "Accept: application/json", NULL },
				   .tally = tally, .service = UPSTREAM_IDP };
	struct http_response rs;
	json_t *doc = NULL;
	json_error_t jerr;

	if (http_do(&rq, &rs, err, errlen) != 0)
		return NULL;
	if (rs.status != 200) {
		snprintf(err, errlen, "GET %s: HTTP %ld", url, rs.status);
		goto done;
	}
	doc = json_loadb(rs.body.data ? rs.body.data : "", rs.body.len, 0, &jerr);
	if (!doc || !json_is_object(doc)) {
		snprintf(err, errlen, "GET %s: not a JSON object", url);
		json_decref(doc);
		doc = NULL;
	}
done:
	http_response_free(&rs);
	return doc;
}

static char *dup_field(json_t *doc, const char *key)
{
	const char *v = json_string_value(json_object_get(doc, key));

	return v && *v ? strdup(v) : NULL;
}

static int fetch_keys(struct oidc_provider *p, char *err, size_t errlen)
{
	struct http_request rq = { .url = p->jwks_uri, .tally = p->tally, .service = UPSTREAM_IDP };
	struct http_response rs;
	struct jwks *keys = NULL;
	int rc = -1;

	if (http_do(&rq, &rs, err, errlen) != 0)
		return -1;
	if (rs.status != 200) {
		snprintf(err, errlen, "GET %s: HTTP %ld", p->jwks_uri, rs.status);
		goto done;
	}
	if (jwks_parse(rs.body.data ? rs.body.data : "", rs.body.len, &keys, err, errlen) != 0)
		goto done;
	jwks_free(p->keys);
	p->keys = keys;
	p->keys_fetched_at = monotonic_ms();
	rc = 0;
done:
	http_response_free(&rs);
	return rc;
}

int oidc_discover(const struct oidc_config *cfg, struct upstream_tally *tally,
		  struct oidc_provider **out, char *err, size_t errlen)
{
	struct oidc_provider *p = calloc(1, sizeof *p);
	struct buf url;
	json_t *doc = NULL;
	const char *issuer;

	*out = NULL;
	buf_init(&url, 4096);
	if (!p)
		goto fail;
	p->cfg = cfg;
	p->tally = tally;
	/* The discovery URL is the issuer with its trailing slash dropped + the well-known path. */
	issuer = cfg->issuer;
	if (buf_append(&url, issuer, strlen(issuer) - (issuer[strlen(issuer) - 1] == '/')) != 0 ||
	    buf_append_str(&url, "/.well-known/openid-configuration") != 0)
		goto fail;
	doc = get_json(url.data, tally, err, errlen);
	if (!doc)
		goto fail;
	p->issuer = dup_field(doc, "issuer");
	p->authorization_endpoint = dup_field(doc, "authorization_endpoint");
	p->token_endpoint = dup_field(doc, "token_endpoint");
	p->jwks_uri = dup_field(doc, "jwks_uri");
	p->end_session_endpoint = dup_field(doc, "end_session_endpoint");
	if (!p->issuer || !p->authorization_endpoint || !p->token_endpoint || !p->jwks_uri) {
		snprintf(err, errlen, "discovery document of %s lacks issuer, authorization_endpoint,"
				      " token_endpoint or jwks_uri", cfg->issuer);
		goto fail;
	}
	/* OIDC Discovery §4.3: the document's issuer must be the one we were configured with. */
	if (strcmp(p->issuer, cfg->issuer) != 0) {
		snprintf(err, errlen, "discovery issuer \"%s\" differs from configured \"%s\"",
			 p->issuer, cfg->issuer);
		goto fail;
	}
	if (fetch_keys(p, err, errlen) != 0)
		goto fail;
	json_decref(doc);
	buf_free(&url);
	*out = p;
	return 0;
fail:
	if (!p)
		snprintf(err, errlen, "out of memory");
	json_decref(doc);
	buf_free(&url);
	oidc_provider_free(p);
	return -1;
}

char *oidc_pkce_challenge(const char *verifier)
{
	uint8_t digest[SHA256_LEN];

	if (sha256(verifier, strlen(verifier), digest) != 0)
		return NULL;
	return b64url_encode(digest, sizeof digest);
}

static char *join_scopes(const struct string_list *scopes)
{
	struct buf b;

	buf_init(&b, 4096);
	for (size_t i = 0; i < scopes->count; i++)
		if (buf_printf(&b, "%s%s", i ? " " : "", scopes->items[i]) != 0) {
			buf_free(&b);
			return NULL;
		}
	return buf_steal(&b);
}

static int append_query(struct buf *url, const char *const *pairs)
{
	char *q = http_form_encode(pairs);
	int rc;

	if (!q)
		return -1;
	rc = buf_printf(url, "%s%s", strchr(url->data ? url->data : "", '?') ? "&" : "?", q);
	free(q);
	return rc;
}

char *oidc_authorize_url(const struct oidc_provider *p, const char *state, const char *nonce,
			 const char *code_verifier)
{
	const struct oidc_config *cfg = p->cfg;
	char *challenge = oidc_pkce_challenge(code_verifier), *scope = join_scopes(&cfg->scopes);
	struct buf url;
	char *result = NULL;

	buf_init(&url, 8192);
	if (challenge && scope && buf_append_str(&url, p->authorization_endpoint) == 0) {
		const char *pairs[] = { "response_type", "code",
					"client_id", cfg->client_id,
					"redirect_uri", cfg->redirect_url,
					"scope", scope,
					"state", state,
					"nonce", nonce,
					"code_challenge", challenge,
					"code_challenge_method", "S256",
					"audience", cfg->audience && *cfg->audience ? cfg->audience : NULL,
					NULL };
		if (append_query(&url, pairs) == 0)
			result = buf_steal(&url);
	}
	buf_free(&url);
	free(challenge);
	free(scope);
	return result;
}

static int parse_token_response(const struct http_response *rs, struct oidc_tokens *out,
				char *err, size_t errlen)
{
	json_t *doc = json_loadb(rs->body.data ? rs->body.data : "", rs->body.len, 0, NULL);
	const char *access, *error;
	int rc = -1;

	memset(out, 0, sizeof *out);
	if (!doc || !json_is_object(doc)) {
		snprintf(err, errlen, "token endpoint answered HTTP %ld without JSON", rs->status);
		goto done;
	}
	if (rs->status != 200) {
		/* RFC 6749 §5.2 error codes are safe to show; descriptions may echo input. */
		error = json_string_value(json_object_get(doc, "error"));
		snprintf(err, errlen, "token endpoint answered HTTP %ld: %.64s", rs->status,
			 error ? error : "no error code");
		goto done;
	}
	access = json_string_value(json_object_get(doc, "access_token"));
	if (!access) {
		snprintf(err, errlen, "token endpoint answer has no access_token");
		goto done;
	}
	out->access_token = strdup(access);
	out->refresh_token = dup_field(doc, "refresh_token");
	out->id_token = dup_field(doc, "id_token");
	if (json_is_integer(json_object_get(doc, "expires_in")))
		out->expires_in = json_integer_value(json_object_get(doc, "expires_in"));
	rc = out->access_token ? 0 : -1;
done:
	json_decref(doc);
	return rc;
}

static int token_request(const struct oidc_provider *p, const char *const *pairs,
			 struct oidc_tokens *out, char *err, size_t errlen)
{
	char *body = http_form_encode(pairs);
	/* client_secret_basic (RFC 6749 §2.3.1): id and secret are form-encoded first. */
	char *user = http_escape(p->cfg->client_id);
	char *password = http_escape(p->cfg->client_secret ? p->cfg->client_secret : "");
	struct http_request rq = {
		.method = "POST",
		.url = p->token_endpoint,
		.headers = (const char *const[]){ "Content-Type: application/x-www-form-urlencoded",
						  "Accept: application/json", NULL },
		.body = body,
		.body_len = body ? strlen(body) : 0,
		.basic_user = user,
		.basic_password = password,
		.tally = p->tally,
		.service = UPSTREAM_IDP,
	};
	struct http_response rs;
	int rc = -1;

	memset(out, 0, sizeof *out);
	if (!body || !user || !password) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	if (http_do(&rq, &rs, err, errlen) == 0) {
		rc = parse_token_response(&rs, out, err, errlen);
		http_response_free(&rs);
	}
done:
	if (body)
		explicit_bzero(body, strlen(body));
	if (password)
		explicit_bzero(password, strlen(password));
	free(body);
	free(user);
	free(password);
	return rc;
}

int oidc_exchange_code(const struct oidc_provider *p, const char *code, const char *verifier,
		       struct oidc_tokens *out, char *err, size_t errlen)
{
	const char *pairs[] = { "grant_type", "authorization_code", "code", code,
				"redirect_uri", p->cfg->redirect_url, "code_verifier", verifier,
				NULL };

	return token_request(p, pairs, out, err, errlen);
}

int oidc_refresh(const struct oidc_provider *p, const char *refresh_token,
		 struct oidc_tokens *out, char *err, size_t errlen)
{
	const char *pairs[] = { "grant_type", "refresh_token", "refresh_token", refresh_token, NULL };

	return token_request(p, pairs, out, err, errlen);
}

enum idtoken_result oidc_verify_id_token(struct oidc_provider *p, const char *token,
					 const char *nonce, long long now, json_t **claims,
					 char *err, size_t errlen)
{
	struct idtoken_expect expect = {
		.issuer = p->issuer,
		.audience = p->cfg->client_id,
		.nonce = nonce,
		.now = now,
		.skew_seconds = ID_TOKEN_SKEW_S,
	};
	char kid[256];
	char fetch_err[256];

	/* Key rotation: an unknown kid is worth one refetch, but not more than once a minute. */
	if (idtoken_peek_kid(token, kid, sizeof kid) == 0 && !jwks_has_kid(p->keys, kid) &&
	    monotonic_ms() - p->keys_fetched_at > JWKS_REFETCH_MIN_MS)
		fetch_keys(p, fetch_err, sizeof fetch_err);
	return idtoken_verify(p->keys, token, &expect, claims, err, errlen);
}

char *oidc_end_session_url(const struct oidc_provider *p, const char *id_token_hint,
			   const char *post_logout_redirect)
{
	struct buf url;
	char *result = NULL;

	if (!p->end_session_endpoint)
		return NULL;
	buf_init(&url, 16384);
	if (buf_append_str(&url, p->end_session_endpoint) == 0) {
		const char *pairs[] = { "id_token_hint", id_token_hint,
					"post_logout_redirect_uri", post_logout_redirect,
					"client_id", p->cfg->client_id, NULL };
		if (append_query(&url, pairs) == 0)
			result = buf_steal(&url);
	}
	buf_free(&url);
	return result;
}
