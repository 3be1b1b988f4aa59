/* Verification of OIDC id_tokens (OpenID Connect Core 1.0 §3.1.3.7) against a JWKS.
 * libjwt 1.10 checks only the signature, and with whatever algorithm the token names;
 * everything that makes this safe (the key chosen by us, the algorithm pinned by the key,
 * strict parsing, every claim) is done here. */
#ifndef PERISCOPE_IDTOKEN_H
#define PERISCOPE_IDTOKEN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "auth/jwks.h"

/* Tokens longer than this are refused unread: libjwt 1.10 copies each segment onto the
 * stack (alloca). Big enough for an Entra ID token carrying its 200 groups. */
#define IDTOKEN_MAX_LEN 65536

enum idtoken_result { IDTOKEN_OK = 0, IDTOKEN_MALFORMED, IDTOKEN_UNKNOWN_KID, IDTOKEN_BAD_ALG,
  IDTOKEN_BAD_SIGNATURE, IDTOKEN_EXPIRED, IDTOKEN_NOT_YET_VALID, IDTOKEN_BAD_ISSUER,
  IDTOKEN_BAD_AUDIENCE, IDTOKEN_BAD_NONCE };

struct idtoken_expect {
  const char *issuer;      /* exact match of iss */
  const char *audience;    /* must be aud (string) or contained in aud (array); if aud has
                              more than one entry, azp must equal audience */
  const char *nonce;       /* NULL: not checked; else must equal the nonce claim */
  long long now;           /* Unix seconds */
  int skew_seconds;        /* allowed clock skew for exp / nbf / iat (e.g. 60) */
};

/* Verifies signature (key chosen by kid; when the token has no kid and the set has exactly
   one key, that key), alg PINNED BY THE KEY (JWK "alg" if present, else RSA→RS256,
   EC P-256→ES256, P-384→ES384; the token's header alg must equal it, so none/HS* never
   pass), then iss, aud/azp, exp (required), nbf, nonce. On IDTOKEN_OK *claims gets the
   payload (json_t*, caller decrefs). err gets a one-line reason without the token.
 *
 * Details, in the order checked:
 * - MALFORMED: longer than IDTOKEN_MAX_LEN, not three base64url segments, header or payload
 *   not a JSON object (duplicate members refused), kid not a string, typ present and not
 *   "JWT" (so an "at+jwt" access token is never taken for an id_token), any "crit" header.
 * - BAD_ALG: header alg is not one a key can be pinned to (none, HS*, PS*, ...).
 * - UNKNOWN_KID: no key has the token's kid; or no kid and the set has not exactly one key.
 * - BAD_ALG: the key(s) with that kid are pinned to another algorithm.
 * - BAD_SIGNATURE: empty signature, signature of the wrong length for the key (an ES256
 *   signature is exactly 64 bytes of R||S), or the signature does not verify.
 * - BAD_ISSUER: iss absent or different (MALFORMED if not a string).
 * - BAD_AUDIENCE: aud absent or without expect->audience; aud with several entries and azp
 *   absent or different; azp present (even with one aud) and different (§3.1.3.7 step 5).
 *   MALFORMED if aud is neither a string nor an array of strings, or azp not a string.
 * - exp must be present and an integer (MALFORMED otherwise); EXPIRED once
 *   now >= exp + skew. nbf and iat are optional integers; NOT_YET_VALID when
 *   nbf > now + skew or iat > now + skew.
 * - BAD_NONCE: expect->nonce set and the nonce claim absent, not a string or different.
 * A NULL keys, expect, expect->issuer or expect->audience fails closed (UNKNOWN_KID,
 * MALFORMED, BAD_ISSUER, BAD_AUDIENCE). claims may be NULL; on failure *claims is NULL. */
enum idtoken_result idtoken_verify(const struct jwks *keys, const char *token,
  const struct idtoken_expect *expect, json_t **claims, char *err, size_t errlen);

/* "ok", "malformed", "unknown_kid", "bad_alg", "bad_signature", "expired", "not_yet_valid",
 * "bad_issuer", "bad_audience", "bad_nonce" (and "unknown" for anything else). */
const char *idtoken_result_name(enum idtoken_result r);  /* "expired", "bad_audience", ... */

/* Reads the header's kid WITHOUT verifying (to decide whether to refetch the JWKS). 0/-1.
 * -1 also when the token has no kid or the kid (with its NUL) does not fit in kidlen. */
int idtoken_peek_kid(const char *token, char *kid, size_t kidlen);

/* Decodes the payload WITHOUT verifying (only for reading exp of a token we already
   verified and stored). 0/-1. On 0 *payload is a JSON object the caller decrefs. */
int jwt_payload_unverified(const char *token, json_t **payload);

#endif
