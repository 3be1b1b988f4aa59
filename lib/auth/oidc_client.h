/* The relying-party side of OpenID Connect: discovery, JWKS, the authorize URL (code flow,
 * PKCE S256, state, nonce), the code exchange, the refresh grant, and id_token checks. */
#ifndef PERISCOPE_OIDC_CLIENT_H
#define PERISCOPE_OIDC_CLIENT_H

#include "metrics/upstream_tally.h"
#include <jansson.h>
#include <stddef.h>

#include "config/config.h"
#include "auth/idtoken.h"
#include "auth/jwks.h"

struct oidc_provider {
	char *issuer;
	char *authorization_endpoint;
	char *token_endpoint;
	char *jwks_uri;
	char *end_session_endpoint;     /* NULL when the IdP has no RP-initiated logout */
	struct jwks *keys;
	long long keys_fetched_at;      /* monotonic ms */
	const struct oidc_config *cfg;  /* borrowed */
	struct upstream_tally *tally;   /* requests counted (service idp), or NULL; the owner's */
};

struct oidc_tokens {
	char *access_token;
	char *refresh_token;            /* NULL when the IdP did not return one */
	char *id_token;                 /* NULL when the IdP did not return one */
	long long expires_in;           /* seconds; 0 when absent */
};

/* Fetches <issuer>/.well-known/openid-configuration and the JWKS. The provider counts its
 * requests in tally (may be NULL), which must outlive it. */
int oidc_discover(const struct oidc_config *cfg, struct upstream_tally *tally,
		  struct oidc_provider **out, char *err, size_t errlen);
void oidc_provider_free(struct oidc_provider *p);
void oidc_tokens_clear(struct oidc_tokens *t);

/* PKCE: challenge = base64url(SHA-256(verifier)). */
char *oidc_pkce_challenge(const char *verifier);
char *oidc_authorize_url(const struct oidc_provider *p, const char *state, const char *nonce,
			 const char *code_verifier);

int oidc_exchange_code(const struct oidc_provider *p, const char *code, const char *verifier,
		       struct oidc_tokens *out, char *err, size_t errlen);
int oidc_refresh(const struct oidc_provider *p, const char *refresh_token,
		 struct oidc_tokens *out, char *err, size_t errlen);

/* Verifies an id_token from this provider (refetching the JWKS once when the kid is
 * unknown and the keys are more than a minute old). */
enum idtoken_result oidc_verify_id_token(struct oidc_provider *p, const char *token,
					 const char *nonce, long long now, json_t **claims,
					 char *err, size_t errlen);

/* URL for RP-initiated logout, or NULL when the provider offers none. */
char *oidc_end_session_url(const struct oidc_provider *p, const char *id_token_hint,
			   const char *post_logout_redirect);

#endif
