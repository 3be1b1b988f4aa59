#include "core/errmsg.h"
#include "auth/idtoken.h"

#include <jwt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/encoding.h"

/* Skew beyond a day is a misconfiguration, not a clock problem. */
#define MAX_SKEW_SECONDS 86400
/* Token-supplied strings quoted in error messages are cut to this many characters. */
#define QUOTE_MAX 64

struct jwt_segments {
	const char *part[3];    /* header, payload, signature (base64url, not NUL-terminated) */
	size_t len[3];
};

/* Copies an attacker-chosen string for an error message: printable ASCII only (no line
 * breaks or quotes that could forge log lines), at most QUOTE_MAX characters. */
static void quote(const char *s, char out[QUOTE_MAX + 4])
{
	size_t i;

	for (i = 0; s[i] && i < QUOTE_MAX; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\') ? s[i] : '?';
	if (s[i]) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
}

static bool is_b64url_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

/* Compact serialization only: exactly two dots and nothing but base64url around them, so
 * that libjwt (which splits on the first two dots and decodes leniently) sees the same
 * three segments as we do. Header and payload must not be empty; the signature may be,
 * so that an unsigned token is reported by its alg. */
static int split_token(const char *token, struct jwt_segments *seg)
{
	size_t i, n = 0, start = 0, len;

	if (!token)
		return -1;
	len = strnlen(token, IDTOKEN_MAX_LEN + 1);
	if (len > IDTOKEN_MAX_LEN)
		return -1;
	for (i = 0; i <= len; i++) {
		if (i < len && is_b64url_char(token[i]))
			continue;
		if (i < len && token[i] != '.')
			return -1;
		if (n == 3)
			return -1;
		seg->part[n] = token + start;
		seg->len[n] = i - start;
		n++;
		start = i + 1;
	}
	if (n != 3 || seg->len[0] == 0 || seg->len[1] == 0)
		return -1;
	return 0;
}

/* base64url → JSON object; duplicate members are refused so that no two parsers can
 * disagree about which "alg" or "aud" counts. */
static json_t *decode_object(const char *b64, size_t len)
{
	unsigned char *raw = NULL;
	size_t raw_len = 0;
	json_t *obj = NULL;

	if (b64url_decode(b64, len, &raw, &raw_len) != 0)
		goto done;
	obj = json_loadb((const char *)raw, raw_len, JSON_REJECT_DUPLICATES, NULL);
	if (obj && !json_is_object(obj)) {
		json_decref(obj);
		obj = NULL;
	}
done:
	free(raw);
	return obj;
}

/* A string member with no NUL inside; 1 present, 0 absent, -1 present but not that. */
static int string_member(json_t *obj, const char *name, const char **out)
{
	json_t *v = json_object_get(obj, name);

	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return -1;
	*out = json_string_value(v);
	return 1;
}

/* An integer member (a NumericDate); 1 present, 0 absent, -1 present but not an integer. */
static int integer_member(json_t *obj, const char *name, long long *out)
{
	json_t *v = json_object_get(obj, name);

	*out = 0;
	if (!v)
		return 0;
	if (!json_is_integer(v))
		return -1;
	*out = json_integer_value(v);
	return 1;
}

static long long saturating_add(long long a, long long b)
{
	long long r;

	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? LLONG_MAX : LLONG_MIN;
	return r;
}

static long long saturating_sub(long long a, long long b)
{
	long long r;

	if (__builtin_sub_overflow(a, b, &r))
		return b < 0 ? LLONG_MAX : LLONG_MIN;
	return r;
}

static bool alg_is_pinnable(const char *alg)
{
	static const char *const pinnable[] = { "RS256", "RS384", "RS512", "ES256", "ES384" };
	size_t i;

	for (i = 0; i < sizeof pinnable / sizeof pinnable[0]; i++)
		if (strcmp(alg, pinnable[i]) == 0)
			return true;
	return false;
}

/* Header checks that need no key. On success *alg and *kid (may be NULL) point into hdr. */
static enum idtoken_result check_header(json_t *hdr, const char **alg, const char **kid,
					char *err, size_t errlen)
{
	const char *typ;
	char q[QUOTE_MAX + 4];

	if (string_member(hdr, "kid", kid) < 0 || string_member(hdr, "typ", &typ) < 0) {
		set_err(err, errlen, "token header kid or typ is not a string");
		return IDTOKEN_MALFORMED;
	}
	/* libjwt refuses any other typ with the same error as a bad signature; say why here. */
	if (typ && strcasecmp(typ, "JWT") != 0) {
		quote(typ, q);
		set_err(err, errlen, "token typ \"%s\" is not JWT", q);
		return IDTOKEN_MALFORMED;
	}
	/* RFC 7515 §4.1.11: extensions we do not understand must not be ignored. */
	if (json_object_get(hdr, "crit")) {
		set_err(err, errlen, "token header has crit extensions, none are supported");
		return IDTOKEN_MALFORMED;
	}
	if (string_member(hdr, "alg", alg) <= 0) {
		set_err(err, errlen, "token header has no alg string");
		return IDTOKEN_MALFORMED;
	}
	if (!alg_is_pinnable(*alg)) {
		quote(*alg, q);
		set_err(err, errlen, "token alg \"%s\" is never accepted", q);
		return IDTOKEN_BAD_ALG;
	}
	return IDTOKEN_OK;
}

/* The key is ours to choose, by kid; its pinned alg must be the token's. The token's jku,
 * x5u, jwk or x5c headers are never looked at. */
static enum idtoken_result select_key(const struct jwks *keys, const char *kid,
				      const char *alg, const struct jwk **out, char *err,
				      size_t errlen)
{
	size_t i, n = jwks_count(keys), same_kid = 0;
	char q[QUOTE_MAX + 4];
	const struct jwk *k;

	*out = NULL;
	if (!kid) {
		if (n != 1) {
			set_err(err, errlen, "token has no kid and the JWKS has %zu keys", n);
			return IDTOKEN_UNKNOWN_KID;
		}
		k = jwks_key(keys, 0);
		if (strcmp(k->alg, alg) != 0) {
			set_err(err, errlen, "token alg %s, but the only key verifies %s", alg, k->alg);
			return IDTOKEN_BAD_ALG;
		}
		*out = k;
		return IDTOKEN_OK;
	}
	for (i = 0; i < n; i++) {
		k = jwks_key(keys, i);
		if (!k->kid || strcmp(k->kid, kid) != 0)
			continue;
		same_kid++;
		if (strcmp(k->alg, alg) == 0) {
			*out = k;
			return IDTOKEN_OK;
		}
	}
	quote(kid, q);
	if (same_kid) {
		set_err(err, errlen, "token alg %s does not match the alg of key \"%s\"", alg, q);
		return IDTOKEN_BAD_ALG;
	}
	set_err(err, errlen, "no key in the JWKS has kid \"%s\"", q);
	return IDTOKEN_UNKNOWN_KID;
}

static enum idtoken_result check_signature(const char *token, const struct jwt_segments *seg,
					   const struct jwk *key, char *err, size_t errlen)
{
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	jwt_t *jwt = NULL;
	enum idtoken_result r = IDTOKEN_BAD_SIGNATURE;

	if (seg->len[2] == 0) {
		set_err(err, errlen, "token is unsigned");
		goto done;
	}
	/* libjwt 1.10 also takes ES signatures padded to 132 bytes and decodes leniently:
	 * only the exact JWA length for this key is accepted. */
	if (b64url_decode(seg->part[2], seg->len[2], &sig, &sig_len) != 0 ||
	    sig_len != key->sig_len) {
		set_err(err, errlen, "token signature is not %zu bytes of base64url", key->sig_len);
		goto done;
	}
	/* Never a NULL key: libjwt would then skip verification and report success. */
	if (jwt_decode(&jwt, token, (const unsigned char *)key->pem, (int)key->pem_len) != 0 ||
	    !jwt) {
		set_err(err, errlen, "token signature does not verify");
		goto done;
	}
	if (jwt_get_alg(jwt) != jwt_str_alg(key->alg)) {
		set_err(err, errlen, "libjwt verified with another alg than %s", key->alg);
		r = IDTOKEN_BAD_ALG;
		goto done;
	}
	r = IDTOKEN_OK;
done:
	if (jwt)
		jwt_free(jwt);
	free(sig);
	return r;
}

static enum idtoken_result check_issuer(json_t *claims, const char *issuer, char *err,
					size_t errlen)
{
	const char *iss;
	char q[QUOTE_MAX + 4];
	int has = string_member(claims, "iss", &iss);

	if (has < 0) {
		set_err(err, errlen, "iss is not a string");
		return IDTOKEN_MALFORMED;
	}
	if (!issuer) {
		set_err(err, errlen, "no expected issuer configured");
		return IDTOKEN_BAD_ISSUER;
	}
	if (!has) {
		set_err(err, errlen, "token has no iss");
		return IDTOKEN_BAD_ISSUER;
	}
	if (strcmp(iss, issuer) != 0) {
		quote(iss, q);
		set_err(err, errlen, "iss \"%s\" is not the expected issuer", q);
		return IDTOKEN_BAD_ISSUER;
	}
	return IDTOKEN_OK;
}

static enum idtoken_result check_audience(json_t *claims, const char *audience, char *err,
					  size_t errlen)
{
	json_t *aud = json_object_get(claims, "aud"), *v;
	const char *azp;
	size_t i, entries = 1;
	bool found = false;
	char q[QUOTE_MAX + 4];
	int has_azp = string_member(claims, "azp", &azp);

	if (has_azp < 0) {
		set_err(err, errlen, "azp is not a string");
		return IDTOKEN_MALFORMED;
	}
	if (json_is_array(aud)) {
		entries = json_array_size(aud);
		json_array_foreach(aud, i, v) {
			if (!json_is_string(v)) {
				set_err(err, errlen, "aud array holds a non-string");
				return IDTOKEN_MALFORMED;
			}
			if (audience && strcmp(json_string_value(v), audience) == 0)
				found = true;
		}
	} else if (json_is_string(aud)) {
		found = audience && strcmp(json_string_value(aud), audience) == 0;
	} else if (aud) {
		set_err(err, errlen, "aud is neither a string nor an array");
		return IDTOKEN_MALFORMED;
	}
	if (!audience) {
		set_err(err, errlen, "no expected audience configured");
		return IDTOKEN_BAD_AUDIENCE;
	}
	if (!aud) {
		set_err(err, errlen, "token has no aud");
		return IDTOKEN_BAD_AUDIENCE;
	}
	if (!found) {
		set_err(err, errlen, "aud does not contain this client");
		return IDTOKEN_BAD_AUDIENCE;
	}
	if (entries > 1 && !azp) {
		set_err(err, errlen, "aud has %zu entries and no azp", entries);
		return IDTOKEN_BAD_AUDIENCE;
	}
	if (azp && strcmp(azp, audience) != 0) {
		quote(azp, q);
		set_err(err, errlen, "azp \"%s\" is not this client", q);
		return IDTOKEN_BAD_AUDIENCE;
	}
	return IDTOKEN_OK;
}

static enum idtoken_result check_times(json_t *claims, long long now, int skew, char *err,
				       size_t errlen)
{
	long long exp, nbf, iat;
	int has_exp = integer_member(claims, "exp", &exp);
	int has_nbf = integer_member(claims, "nbf", &nbf);
	int has_iat = integer_member(claims, "iat", &iat);

	if (skew < 0)
		skew = 0;
	if (skew > MAX_SKEW_SECONDS)
		skew = MAX_SKEW_SECONDS;
	if (has_exp <= 0) {
		set_err(err, errlen, has_exp ? "exp is not an integer" : "token has no exp");
		return IDTOKEN_MALFORMED;
	}
	if (has_nbf < 0 || has_iat < 0) {
		set_err(err, errlen, "%s is not an integer", has_nbf < 0 ? "nbf" : "iat");
		return IDTOKEN_MALFORMED;
	}
	if (now >= saturating_add(exp, skew)) {
		set_err(err, errlen, "token expired %lld s ago (skew %d s)", saturating_sub(now, exp), skew);
		return IDTOKEN_EXPIRED;
	}
	if (has_nbf && nbf > saturating_add(now, skew)) {
		set_err(err, errlen, "token not valid for another %lld s (skew %d s)", saturating_sub(nbf, now), skew);
		return IDTOKEN_NOT_YET_VALID;
	}
	if (has_iat && iat > saturating_add(now, skew)) {
		set_err(err, errlen, "token issued %lld s in the future (skew %d s)", saturating_sub(iat, now), skew);
		return IDTOKEN_NOT_YET_VALID;
	}
	return IDTOKEN_OK;
}

static enum idtoken_result check_nonce(json_t *claims, const char *nonce, char *err,
				       size_t errlen)
{
	const char *got;

	if (!nonce)
		return IDTOKEN_OK;
	/* The nonce binds the token to this browser's login; its value is not logged. */
	if (string_member(claims, "nonce", &got) <= 0) {
		set_err(err, errlen, "token has no nonce string");
		return IDTOKEN_BAD_NONCE;
	}
	if (strcmp(got, nonce) != 0) {
		set_err(err, errlen, "nonce does not match this login");
		return IDTOKEN_BAD_NONCE;
	}
	return IDTOKEN_OK;
}

enum idtoken_result idtoken_verify(const struct jwks *keys, const char *token,
				   const struct idtoken_expect *expect, json_t **claims,
				   char *err, size_t errlen)
{
	struct jwt_segments seg;
	json_t *hdr = NULL, *payload = NULL;
	const char *alg = NULL, *kid = NULL;
	const struct jwk *key = NULL;
	enum idtoken_result r = IDTOKEN_MALFORMED;

	if (claims)
		*claims = NULL;
	set_err(err, errlen, "ok");
	if (!expect) {
		set_err(err, errlen, "no expectations given");
		goto done;
	}
	if (split_token(token, &seg) != 0) {
		set_err(err, errlen, "token is not three base64url segments of at most %d bytes",
			IDTOKEN_MAX_LEN);
		goto done;
	}
	hdr = decode_object(seg.part[0], seg.len[0]);
	payload = decode_object(seg.part[1], seg.len[1]);
	if (!hdr || !payload) {
		set_err(err, errlen, "token %s is not a base64url JSON object",
			hdr ? "payload" : "header");
		goto done;
	}
	r = check_header(hdr, &alg, &kid, err, errlen);
	if (r != IDTOKEN_OK)
		goto done;
	r = select_key(keys, kid, alg, &key, err, errlen);
	if (r != IDTOKEN_OK)
		goto done;
	r = check_signature(token, &seg, key, err, errlen);
	if (r != IDTOKEN_OK)
		goto done;
	r = check_issuer(payload, expect->issuer, err, errlen);
	if (r != IDTOKEN_OK)
		goto done;
	r = check_audience(payload, expect->audience, err, errlen);
	if (r != IDTOKEN_OK)
		goto done;
	r = check_times(payload, expect->now, expect->skew_seconds, err, errlen);
	if (r != IDTOKEN_OK)
		goto done;
	r = check_nonce(payload, expect->nonce, err, errlen);
	if (r != IDTOKEN_OK)
		goto done;
	set_err(err, errlen, "ok");
	if (claims) {
		*claims = payload;
		payload = NULL;
	}
done:
	json_decref(hdr);
	json_decref(payload);
	return r;
}

const char *idtoken_result_name(enum idtoken_result r)
{
	switch (r) {
	case IDTOKEN_OK: return "ok";
	case IDTOKEN_MALFORMED: return "malformed";
	case IDTOKEN_UNKNOWN_KID: return "unknown_kid";
	case IDTOKEN_BAD_ALG: return "bad_alg";
	case IDTOKEN_BAD_SIGNATURE: return "bad_signature";
	case IDTOKEN_EXPIRED: return "expired";
	case IDTOKEN_NOT_YET_VALID: return "not_yet_valid";
	case IDTOKEN_BAD_ISSUER: return "bad_issuer";
	case IDTOKEN_BAD_AUDIENCE: return "bad_audience";
	case IDTOKEN_BAD_NONCE: return "bad_nonce";
	}
	return "unknown";
}

int idtoken_peek_kid(const char *token, char *kid, size_t kidlen)
{
	struct jwt_segments seg;
	json_t *hdr = NULL;
	const char *value;
	int rc = -1;

	if (!kid || kidlen == 0 || split_token(token, &seg) != 0)
		goto done;
	kid[0] = '\0';
	hdr = decode_object(seg.part[0], seg.len[0]);
	if (!hdr || string_member(hdr, "kid", &value) <= 0 || strlen(value) >= kidlen)
		goto done;
	memcpy(kid, value, strlen(value) + 1);
	rc = 0;
done:
	json_decref(hdr);
	return rc;
}

int jwt_payload_unverified(const char *token, json_t **payload)
{
	struct jwt_segments seg;

	if (!payload)
		return -1;
	*payload = NULL;
	if (split_token(token, &seg) != 0)
		return -1;
	*payload = decode_object(seg.part[1], seg.len[1]);
	return *payload ? 0 : -1;
}
