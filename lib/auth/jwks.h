/* A JSON Web Key Set (RFC 7517) turned into the public keys that verify OIDC id_tokens.
 * libjwt 1.10 knows no JWK, so each usable key is converted here (with GnuTLS) into a
 * SubjectPublicKeyInfo PEM, the form jwt_decode() takes, and pinned to one algorithm so
 * that a token can never choose how it is checked. */
#ifndef PERISCOPE_JWKS_H
#define PERISCOPE_JWKS_H

#include <stdbool.h>
#include <stddef.h>

struct jwks;                                   /* opaque: a set of public keys */

/* Limits on what an identity provider may send (a JWKS is a few kilobytes). */
#define JWKS_MAX_BYTES (256 * 1024)
#define JWKS_MAX_KEYS 64

/* Parses a JWKS document ({"keys":[...]}).
 * Kept: keys with "use" absent or "sig", of kty RSA (n, e; modulus of 2048 bits or more)
 * or EC (crv P-256 / P-384, x, y at full length). Each key is pinned to one algorithm:
 * its "alg" member when present (RS256/RS384/RS512 for RSA, ES256 for P-256, ES384 for
 * P-384), else RS256 for RSA, ES256 for P-256, ES384 for P-384.
 * Skipped without failing the set: other "use", other kty or curve, an "alg" this code
 * cannot verify or that does not fit the key, key_ops without "verify", short RSA keys.
 * Fails (-1, *out NULL): malformed JSON, no "keys" array, a key that is not an object,
 * a kept key whose members are missing, not strings or not valid base64url, a key GnuTLS
 * refuses, more than JWKS_MAX_KEYS entries, more than JWKS_MAX_BYTES, or no usable key at
 * all (so a broken refetch never replaces a working set).
 * On success *out is the set (jwks_free it). */
int jwks_parse(const char *json, size_t len, struct jwks **out, char *err, size_t errlen);

/* Frees a set; NULL is fine. */
void jwks_free(struct jwks *keys);

/* Number of usable keys kept by jwks_parse. */
size_t jwks_count(const struct jwks *keys);

/* True when a kept key has exactly this kid. */
bool jwks_has_kid(const struct jwks *keys, const char *kid);

/* One kept key, read-only, as idtoken_verify needs it. */
struct jwk {
	const char *kid;        /* NULL when the JWK had no kid */
	const char *alg;        /* the only algorithm this key verifies: "RS256", "ES256", ... */
	const char *pem;        /* "-----BEGIN PUBLIC KEY-----..." (SubjectPublicKeyInfo) */
	size_t pem_len;         /* bytes of pem, without the terminating NUL */
	size_t sig_len;         /* exact signature length in bytes: the RSA modulus size, or
	                           2 * coordinate size for ECDSA (raw R||S) */
};

/* The index-th kept key (index < jwks_count), or NULL. */
const struct jwk *jwks_key(const struct jwks *keys, size_t index);

#endif
