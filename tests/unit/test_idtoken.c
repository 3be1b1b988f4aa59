/* JWKS parsing and id_token verification. Keys are generated with GnuTLS when the suite
 * starts (nothing secret is committed); tokens are minted with libjwt, as an identity
 * provider would, and by hand for the malicious ones libjwt refuses to make. */
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <jwt.h>
#include <stdio.h>
#include <string.h>

#include "core/encoding.h"
#include "auth/idtoken.h"
#include "auth/jwks.h"
#include "unit.h"

#define NOW 1700000000LL
#define ISS "https://idp.example.test"
#define AUD "periscope"
#define NONCE "n-0S6_WzA2Mj"

struct keypair {
	gnutls_privkey_t priv;
	char *priv_pem;         /* for libjwt's jwt_encode */
	char *pub_pem;          /* SubjectPublicKeyInfo, what an attacker can download */
	char *jwk_members;      /* "kty":...,"n"/"e" or "crv","x","y" (no braces, no kid) */
};

/* Built once before the tests fork; the tests only read it. */
static struct fixture {
	struct keypair rsa, ec, rsa_short;
	struct jwks *set;       /* rsa (kid rsa1) and ec (kid ec1) */
} fx;

static char *datum_to_str(const gnutls_datum_t *d)
{
	char *s = unit_malloc(d->size + 1);

	ck_assert_ptr_nonnull(s);
	memcpy(s, d->data, d->size);
	s[d->size] = '\0';
	return s;
}

/* JWK coordinates are fixed-length big-endian: pad what GnuTLS exported without zeros. */
static char *b64url_padded(const gnutls_datum_t *d, size_t width)
{
	unsigned char tmp[512] = { 0 };
	size_t n = d->size;

	if (width == 0)
		width = n;
	ck_assert_uint_le(n, width);
	ck_assert_uint_le(width, sizeof tmp);
	memcpy(tmp + (width - n), d->data, n);
	return b64url_encode(tmp, width);
}

static void make_keypair(struct keypair *kp, gnutls_pk_algorithm_t pk, unsigned int bits)
{
	gnutls_x509_privkey_t x509;
	gnutls_pubkey_t pub;
	gnutls_datum_t pem, a, b;
	gnutls_ecc_curve_t curve;
	char *sa, *sb;
	char members[2048];

	ck_assert_int_eq(gnutls_x509_privkey_init(&x509), 0);
	ck_assert_int_eq(gnutls_x509_privkey_generate(x509, pk, bits, 0), 0);
	ck_assert_int_eq(gnutls_x509_privkey_export2(x509, GNUTLS_X509_FMT_PEM, &pem), 0);
	kp->priv_pem = datum_to_str(&pem);
	gnutls_free(pem.data);
	ck_assert_int_eq(gnutls_privkey_init(&kp->priv), 0);
	ck_assert_int_eq(gnutls_privkey_import_x509(kp->priv, x509, GNUTLS_PRIVKEY_IMPORT_COPY), 0);
	gnutls_x509_privkey_deinit(x509);

	ck_assert_int_eq(gnutls_pubkey_init(&pub), 0);
	ck_assert_int_eq(gnutls_pubkey_import_privkey(pub, kp->priv, 0, 0), 0);
	ck_assert_int_eq(gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_PEM, &pem), 0);
	kp->pub_pem = datum_to_str(&pem);
	gnutls_free(pem.data);
	if (pk == GNUTLS_PK_RSA) {
		ck_assert_int_eq(gnutls_pubkey_export_rsa_raw2(pub, &a, &b, GNUTLS_EXPORT_FLAG_NO_LZ), 0);
		sa = b64url_padded(&a, 0);
		sb = b64url_padded(&b, 0);
		snprintf(members, sizeof members, "\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\"", sa, sb);
	} else {
		ck_assert_int_eq(gnutls_pubkey_export_ecc_raw2(pub, &curve, &a, &b,
							       GNUTLS_EXPORT_FLAG_NO_LZ), 0);
		sa = b64url_padded(&a, 32);
		sb = b64url_padded(&b, 32);
		snprintf(members, sizeof members,
			 "\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"", sa, sb);
	}
	kp->jwk_members = unit_strdup(members);
	free(sa);
	free(sb);
	gnutls_free(a.data);
	gnutls_free(b.data);
	gnutls_pubkey_deinit(pub);
}

static void free_keypair(struct keypair *kp)
{
	gnutls_privkey_deinit(kp->priv);
	free(kp->priv_pem);
	free(kp->pub_pem);
	free(kp->jwk_members);
}

static void setup(void)
{
	char json[4096], err[256];

	make_keypair(&fx.rsa, GNUTLS_PK_RSA, 2048);
	make_keypair(&fx.ec, GNUTLS_PK_EC, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1));
	make_keypair(&fx.rsa_short, GNUTLS_PK_RSA, 1024);
	snprintf(json, sizeof json, "{\"keys\":[{\"kid\":\"rsa1\",\"use\":\"sig\",%s},"
		 "{\"kid\":\"ec1\",%s}]}", fx.rsa.jwk_members, fx.ec.jwk_members);
	ck_assert_int_eq(jwks_parse(json, strlen(json), &fx.set, err, sizeof err), 0);
}

static void teardown(void)
{
	jwks_free(fx.set);
	free_keypair(&fx.rsa);
	free_keypair(&fx.ec);
	free_keypair(&fx.rsa_short);
}

/* ---- minting ---- */

/* Standard valid claims plus extra members (",\"k\":v..." or ""), into out. */
static const char *claims_with(char *out, size_t outlen, const char *extra)
{
	snprintf(out, outlen,
		 "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":\"" AUD "\","
		 "\"iat\":%lld,\"exp\":%lld,\"nonce\":\"" NONCE "\"%s}", NOW - 10, NOW + 300, extra);
	return out;
}

/* As an identity provider would, with libjwt (it adds typ JWT). */
static char *mint_libjwt(jwt_alg_t alg, const char *key, size_t keylen, const char *kid,
			 const char *claims)
{
	jwt_t *jwt = NULL;
	char *token;

	ck_assert_int_eq(jwt_new(&jwt), 0);
	ck_assert_int_eq(jwt_add_grants_json(jwt, claims), 0);
	if (kid)
		ck_assert_int_eq(jwt_add_header(jwt, "kid", kid), 0);
	ck_assert_int_eq(jwt_set_alg(jwt, alg, (const unsigned char *)key, (int)keylen), 0);
	token = jwt_encode_str(jwt);
	ck_assert_ptr_nonnull(token);
	jwt_free(jwt);
	return token;
}

static char *mint_rs256(const char *kid, const char *claims)
{
	return mint_libjwt(JWT_ALG_RS256, fx.rsa.priv_pem, strlen(fx.rsa.priv_pem), kid, claims);
}

/* A DER integer (maybe with a leading zero) right-aligned into width bytes. */
static void put_unsigned(unsigned char *out, size_t width, const gnutls_datum_t *v)
{
	size_t skip = 0;

	while (skip < v->size && v->data[skip] == 0)
		skip++;
	ck_assert_uint_le(v->size - skip, width);
	memcpy(out + width - (v->size - skip), v->data + skip, v->size - skip);
}

enum signer { SIGN_NONE, SIGN_RSA, SIGN_EC, SIGN_EC_PADDED };

/* Any header and payload text, signed (or not) by hand. EC signatures are raw R||S, each
 * half left-padded to 32 bytes (66 for SIGN_EC_PADDED, the way libjwt 1.10 pads them). */
static char *mint_by_hand(const char *header, const char *payload, enum signer how)
{
	char *h = b64url_encode(header, strlen(header)), *p = b64url_encode(payload, strlen(payload));
	char *sig = NULL, *token;
	size_t signing_len = strlen(h) + 1 + strlen(p);
	char *signing = unit_malloc(signing_len + 1);
	gnutls_datum_t data, s = { NULL, 0 }, r_, s_;
	unsigned char raw[132];

	ck_assert_ptr_nonnull(signing);
	snprintf(signing, signing_len + 1, "%s.%s", h, p);
	data = (gnutls_datum_t){ (unsigned char *)signing, (unsigned int)signing_len };
	if (how == SIGN_RSA) {
		ck_assert_int_eq(gnutls_privkey_sign_data(fx.rsa.priv, GNUTLS_DIG_SHA256, 0, &data, &s), 0);
		sig = unit_nonnull(b64url_encode(s.data, s.size));
	} else if (how == SIGN_EC || how == SIGN_EC_PADDED) {
		size_t half = how == SIGN_EC ? 32 : 66;

		ck_assert_int_eq(gnutls_privkey_sign_data(fx.ec.priv, GNUTLS_DIG_SHA256, 0, &data, &s), 0);
		ck_assert_int_eq(gnutls_decode_rs_value(&s, &r_, &s_), 0);
		memset(raw, 0, sizeof raw);
		put_unsigned(raw, half, &r_);
		put_unsigned(raw + half, half, &s_);
		sig = unit_nonnull(b64url_encode(raw, 2 * half));
		gnutls_free(r_.data);
		gnutls_free(s_.data);
	} else {
		sig = unit_strdup("");
	}
	gnutls_free(s.data);
	token = unit_malloc(signing_len + 2 + strlen(sig));
	ck_assert_ptr_nonnull(token);
	sprintf(token, "%s.%s", signing, sig);
	free(h);
	free(p);
	free(sig);
	free(signing);
	return token;
}

static struct idtoken_expect std_expect(void)
{
	return (struct idtoken_expect){ .issuer = ISS, .audience = AUD, .nonce = NONCE,
					.now = NOW, .skew_seconds = 60 };
}

/* Verifies and frees token; the reason must never quote the token or its signature. */
static enum idtoken_result verify_ex(char *token, const struct idtoken_expect *ex)
{
	char err[256];
	json_t *claims = (json_t *)&claims;   /* must be reset on failure */
	enum idtoken_result r = idtoken_verify(fx.set, token, ex, &claims, err, sizeof err);
	const char *last_dot = strrchr(token, '.');

	ck_assert_ptr_null(strchr(err, '\n'));
	if (last_dot && strlen(last_dot + 1) > 8)
		ck_assert_ptr_null(strstr(err, last_dot + 1));
	if (r == IDTOKEN_OK) {
		ck_assert_str_eq(json_string_value(json_object_get(claims, "sub")), "alice");
		json_decref(claims);
	} else {
		ck_assert_ptr_null(claims);
		ck_assert_str_ne(err, "ok");
	}
	free(token);
	return r;
}

static enum idtoken_result verify(char *token)
{
	struct idtoken_expect ex = std_expect();

	return verify_ex(token, &ex);
}

#define ASSERT_RESULT(expr, expected) \
	ck_assert_str_eq(idtoken_result_name(expr), idtoken_result_name(expected))

/* ---- JWKS ---- */

START_TEST(jwks_keeps_rsa_and_ec_and_skips_enc_oct_and_unknown_kty)
{
	char json[8192], err[256];
	struct jwks *set = NULL;

	snprintf(json, sizeof json,
		 "{\"keys\":["
		 "{\"kid\":\"rsa1\",\"use\":\"sig\",\"alg\":\"RS256\",%s},"
		 "{\"kid\":\"ec1\",\"use\":\"sig\",%s},"
		 "{\"kid\":\"enc1\",\"use\":\"enc\",%s},"
		 "{\"kid\":\"okp1\",\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"},"
		 "{\"kid\":\"hmac1\",\"kty\":\"oct\",\"k\":\"c2VjcmV0\"},"
		 "{\"kid\":\"p521\",\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\"AA\",\"y\":\"AA\"},"
		 "{\"kid\":\"ops1\",\"key_ops\":[\"encrypt\"],%s}"
		 "]}", fx.rsa.jwk_members, fx.ec.jwk_members, fx.rsa.jwk_members, fx.rsa.jwk_members);
	ck_assert_int_eq(jwks_parse(json, strlen(json), &set, err, sizeof err), 0);
	ck_assert_uint_eq(jwks_count(set), 2);
	ck_assert(jwks_has_kid(set, "rsa1"));
	ck_assert(jwks_has_kid(set, "ec1"));
	ck_assert(!jwks_has_kid(set, "enc1"));
	ck_assert(!jwks_has_kid(set, "okp1"));
	ck_assert(!jwks_has_kid(set, "hmac1"));
	ck_assert(!jwks_has_kid(set, "p521"));
	ck_assert(!jwks_has_kid(set, "ops1"));
	ck_assert_str_eq(jwks_key(set, 0)->alg, "RS256");
	ck_assert_uint_eq(jwks_key(set, 0)->sig_len, 256);
	ck_assert_str_eq(jwks_key(set, 1)->alg, "ES256");
	ck_assert_uint_eq(jwks_key(set, 1)->sig_len, 64);
	ck_assert(strncmp(jwks_key(set, 1)->pem, "-----BEGIN PUBLIC KEY-----", 26) == 0);
	ck_assert_ptr_null(jwks_key(set, 2));
	jwks_free(set);
}
END_TEST

START_TEST(jwks_refuses_malformed_json)
{
	static const char *const bad[] = {
		"", "{", "{\"keys\":[}", "[]", "{\"keys\":{}}", "{\"nokeys\":[]}",
		"{\"keys\":[]} trailing", "{\"keys\":[\"not an object\"]}",
		"{\"keys\":[{\"kid\":\"x\"}]}",                   /* no kty */
		"{\"keys\":[{\"kty\":7}]}",
		"{\"keys\":[],\"keys\":[]}",                      /* duplicate member */
	};
	char err[256];
	struct jwks *set = (struct jwks *)&set;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		ck_assert_msg(jwks_parse(bad[i], strlen(bad[i]), &set, err, sizeof err) == -1,
			      "accepted %s", bad[i]);
		ck_assert_ptr_null(set);
		ck_assert_str_ne(err, "");
	}
	ck_assert_int_eq(jwks_parse("{", 1, &set, err, sizeof err), -1);
	ck_assert_str_eq(err, "JWKS is not valid JSON (line 1, column 1)");
}
END_TEST

START_TEST(jwks_refuses_bad_base64url)
{
	static const char *const bad[] = {
		"{\"keys\":[{\"kty\":\"RSA\",\"n\":\"ab+/cd\",\"e\":\"AQAB\"}]}",
		"{\"keys\":[{\"kty\":\"RSA\",\"n\":\"abc!\",\"e\":\"AQAB\"}]}",
		"{\"keys\":[{\"kty\":\"RSA\",\"n\":\"abcde\",\"e\":\"AQAB\"}]}",
		"{\"keys\":[{\"kty\":\"RSA\",\"n\":\"abcd\",\"e\":\"AQ==\"}]}",
		"{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"a b\",\"y\":\"AAAA\"}]}",
		"{\"keys\":[{\"kty\":\"RSA\",\"e\":\"AQAB\"}]}",
		"{\"keys\":[{\"kty\":\"RSA\",\"n\":12,\"e\":\"AQAB\"}]}",
	};
	char err[256];
	struct jwks *set = NULL;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_msg(jwks_parse(bad[i], strlen(bad[i]), &set, err, sizeof err) == -1,
			      "accepted %s", bad[i]);
		ck_assert_ptr_null(set);
	}
	ck_assert_str_eq(err, "JWKS keys[0]: RSA n or e is missing or not base64url");
}
END_TEST

START_TEST(jwks_skips_weak_or_mismatched_keys_and_needs_one_usable)
{
	char json[8192], err[256];
	struct jwks *set = NULL;

	/* 1024-bit RSA, an EC key claiming RS256, an RSA key claiming PS256: nothing left. */
	snprintf(json, sizeof json,
		 "{\"keys\":[{\"kid\":\"short\",%s},{\"kid\":\"ec\",\"alg\":\"RS256\",%s},"
		 "{\"kid\":\"ps\",\"alg\":\"PS256\",%s}]}",
		 fx.rsa_short.jwk_members, fx.ec.jwk_members, fx.rsa.jwk_members);
	ck_assert_int_eq(jwks_parse(json, strlen(json), &set, err, sizeof err), -1);
	ck_assert_ptr_null(set);
	ck_assert_str_eq(err, "JWKS has no usable signing key");
	ck_assert_int_eq(jwks_parse("{\"keys\":[]}", 11, &set, err, sizeof err), -1);
}
END_TEST

START_TEST(jwks_refuses_short_ec_coordinates)
{
	char json[512], err[256];
	struct jwks *set = NULL;

	snprintf(json, sizeof json, "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\","
		 "\"x\":\"AAAA\",\"y\":\"AAAA\"}]}");
	ck_assert_int_eq(jwks_parse(json, strlen(json), &set, err, sizeof err), -1);
	ck_assert_str_eq(err, "JWKS keys[0]: EC coordinates must be 32 bytes");
}
END_TEST

START_TEST(jwks_refuses_rsa_exponent_one_or_even)
{
	static const char *const bad_e[] = { "AQ", "Ag", "AAE", "AQAA" };   /* 1, 2, 1, 65536 */
	char json[4096], err[256];
	struct jwks *set = NULL;
	char *e;

	for (size_t i = 0; i < sizeof bad_e / sizeof bad_e[0]; i++) {
		snprintf(json, sizeof json, "{\"keys\":[{%s}]}", fx.rsa.jwk_members);
		e = strstr(json, "\"e\":\"AQAB\"");
		ck_assert_ptr_nonnull(e);
		snprintf(e, sizeof json - (size_t)(e - json), "\"e\":\"%s\"}]}", bad_e[i]);
		ck_assert_int_eq(jwks_parse(json, strlen(json), &set, err, sizeof err), -1);
		ck_assert_str_eq(err, "JWKS keys[0]: RSA exponent is out of range");
	}
}
END_TEST

START_TEST(jwks_refuses_too_many_keys)
{
	char err[256];
	struct jwks *set = NULL;
	char *json = unit_malloc(8 + (JWKS_MAX_KEYS + 1) * 3 + 8);
	size_t n = 0;

	n += (size_t)sprintf(json, "{\"keys\":[");
	for (int i = 0; i <= JWKS_MAX_KEYS; i++)
		n += (size_t)sprintf(json + n, "%s{}", i ? "," : "");
	n += (size_t)sprintf(json + n, "]}");
	ck_assert_int_eq(jwks_parse(json, n, &set, err, sizeof err), -1);
	ck_assert_str_eq(err, "JWKS has more than 64 keys");
	free(json);
}
END_TEST

/* ---- tokens that must pass ---- */

START_TEST(rs256_from_libjwt_verifies_and_returns_claims)
{
	char c[512], err[256];
	char *token = mint_rs256("rsa1", claims_with(c, sizeof c, ""));
	struct idtoken_expect ex = std_expect();
	json_t *claims = NULL;

	ck_assert_int_eq(idtoken_verify(fx.set, token, &ex, &claims, err, sizeof err), IDTOKEN_OK);
	ck_assert_str_eq(err, "ok");
	ck_assert_str_eq(json_string_value(json_object_get(claims, "sub")), "alice");
	ck_assert_int_eq(json_integer_value(json_object_get(claims, "exp")), NOW + 300);
	json_decref(claims);
	/* claims may be NULL when the caller only wants the verdict */
	ck_assert_int_eq(idtoken_verify(fx.set, token, &ex, NULL, err, sizeof err), IDTOKEN_OK);
	free(token);
}
END_TEST

START_TEST(large_token_with_many_groups_verifies)
{
	char *extra = unit_malloc(400 * 40 + 32), *c = unit_malloc(400 * 40 + 512), *token;
	size_t n = (size_t)sprintf(extra, ",\"groups\":[");

	for (int i = 0; i < 400; i++)
		n += (size_t)sprintf(extra + n, "%s\"%08d-0000-4000-8000-000000000000\"", i ? "," : "", i);
	sprintf(extra + n, "]");
	claims_with(c, 400 * 40 + 512, extra);
	token = mint_rs256("rsa1", c);
	ck_assert_uint_gt(strlen(token), 16384);
	ck_assert_uint_lt(strlen(token), IDTOKEN_MAX_LEN);
	ASSERT_RESULT(verify(token), IDTOKEN_OK);
	free(extra);
	free(c);
}
END_TEST

START_TEST(es256_with_raw_r_s_verifies)
{
	char c[512];

	ASSERT_RESULT(verify(mint_by_hand("{\"alg\":\"ES256\",\"kid\":\"ec1\",\"typ\":\"JWT\"}",
					  claims_with(c, sizeof c, ""), SIGN_EC)), IDTOKEN_OK);
	/* no typ at all is fine too */
	ASSERT_RESULT(verify(mint_by_hand("{\"alg\":\"ES256\",\"kid\":\"ec1\"}",
					  claims_with(c, sizeof c, ""), SIGN_EC)), IDTOKEN_OK);
}
END_TEST

START_TEST(exp_and_nbf_within_skew_pass_and_beyond_fail)
{
	char c[512], extra[128];
	struct idtoken_expect ex = std_expect();
	char hdr[] = "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}";
	char pl[512];

	/* exp 59 s ago, skew 60: still fine; 60 s ago: expired */
	snprintf(pl, sizeof pl, "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":\"" AUD "\","
		 "\"exp\":%lld,\"nonce\":\"" NONCE "\"}", NOW - 59);
	ASSERT_RESULT(verify_ex(mint_by_hand(hdr, pl, SIGN_RSA), &ex), IDTOKEN_OK);
	snprintf(pl, sizeof pl, "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":\"" AUD "\","
		 "\"exp\":%lld,\"nonce\":\"" NONCE "\"}", NOW - 60);
	ASSERT_RESULT(verify_ex(mint_by_hand(hdr, pl, SIGN_RSA), &ex), IDTOKEN_EXPIRED);
	snprintf(pl, sizeof pl, "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":\"" AUD "\","
		 "\"exp\":%lld,\"nonce\":\"" NONCE "\"}", NOW - 3600);
	ASSERT_RESULT(verify_ex(mint_by_hand(hdr, pl, SIGN_RSA), &ex), IDTOKEN_EXPIRED);
	/* with no skew, exp == now is already expired (RFC 7519: now must be before exp) */
	ex.skew_seconds = 0;
	snprintf(pl, sizeof pl, "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":\"" AUD "\","
		 "\"exp\":%lld,\"nonce\":\"" NONCE "\"}", NOW);
	ASSERT_RESULT(verify_ex(mint_by_hand(hdr, pl, SIGN_RSA), &ex), IDTOKEN_EXPIRED);

	snprintf(extra, sizeof extra, ",\"nbf\":%lld", NOW + 60);
	ASSERT_RESULT(verify(mint_rs256("rsa1", claims_with(c, sizeof c, extra))), IDTOKEN_OK);
	snprintf(extra, sizeof extra, ",\"nbf\":%lld", NOW + 61);
	ASSERT_RESULT(verify(mint_rs256("rsa1", claims_with(c, sizeof c, extra))),
		      IDTOKEN_NOT_YET_VALID);
}
END_TEST

START_TEST(aud_array_with_matching_azp_passes)
{
	char c[512];

	/* a one-entry array needs no azp */
	snprintf(c, sizeof c, "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":[\"" AUD "\"],"
		 "\"exp\":%lld,\"nonce\":\"" NONCE "\"}", NOW + 300);
	ASSERT_RESULT(verify(mint_rs256("rsa1", c)), IDTOKEN_OK);
	snprintf(c, sizeof c, "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":[\"other\",\"" AUD "\"],"
		 "\"azp\":\"" AUD "\",\"exp\":%lld,\"nonce\":\"" NONCE "\"}", NOW + 300);
	ASSERT_RESULT(verify(mint_rs256("rsa1", c)), IDTOKEN_OK);
}
END_TEST

START_TEST(no_kid_uses_the_only_key)
{
	char json[4096], c[512], err[256];
	struct jwks *one = NULL;
	struct idtoken_expect ex = std_expect();
	char *token = mint_rs256(NULL, claims_with(c, sizeof c, ""));

	snprintf(json, sizeof json, "{\"keys\":[{%s}]}", fx.rsa.jwk_members);
	ck_assert_int_eq(jwks_parse(json, strlen(json), &one, err, sizeof err), 0);
	ck_assert_int_eq(idtoken_verify(one, token, &ex, NULL, err, sizeof err), IDTOKEN_OK);
	/* with two keys a token without kid names no key */
	ck_assert_int_eq(idtoken_verify(fx.set, token, &ex, NULL, err, sizeof err),
			 IDTOKEN_UNKNOWN_KID);
	ck_assert_str_eq(err, "token has no kid and the JWKS has 2 keys");
	jwks_free(one);
	free(token);
}
END_TEST

/* Without a kid the one key is taken, but only for its own alg: a token of another alg
 * (signed by the EC key the JWKS does not hold, or RS384 by the RSA key pinned to RS256) is
 * refused before any signature check, with the two algs named. */
START_TEST(no_kid_token_of_another_alg_than_the_only_key_is_refused)
{
	char json[4096], c[512], err[256];
	struct jwks *one = NULL;
	struct idtoken_expect ex = std_expect();
	char *es256, *rs384;

	claims_with(c, sizeof c, "");
	es256 = mint_by_hand("{\"alg\":\"ES256\"}", c, SIGN_EC);
	rs384 = mint_libjwt(JWT_ALG_RS384, fx.rsa.priv_pem, strlen(fx.rsa.priv_pem), NULL, c);
	snprintf(json, sizeof json, "{\"keys\":[{%s}]}", fx.rsa.jwk_members);
	ck_assert_int_eq(jwks_parse(json, strlen(json), &one, err, sizeof err), 0);
	ck_assert_int_eq(idtoken_verify(one, es256, &ex, NULL, err, sizeof err), IDTOKEN_BAD_ALG);
	ck_assert_str_eq(err, "token alg ES256, but the only key verifies RS256");
	ck_assert_int_eq(idtoken_verify(one, rs384, &ex, NULL, err, sizeof err), IDTOKEN_BAD_ALG);
	ck_assert_str_eq(err, "token alg RS384, but the only key verifies RS256");
	jwks_free(one);
	free(es256);
	free(rs384);
}
END_TEST

START_TEST(nonce_not_checked_when_not_expected)
{
	char c[512];
	struct idtoken_expect ex = std_expect();

	ex.nonce = NULL;
	snprintf(c, sizeof c, "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":\"" AUD "\","
		 "\"exp\":%lld}", NOW + 300);
	ASSERT_RESULT(verify_ex(mint_rs256("rsa1", c), &ex), IDTOKEN_OK);
}
END_TEST

/* ---- tokens that must be refused ---- */

START_TEST(alg_none_is_refused)
{
	char c[512];

	claims_with(c, sizeof c, "");
	ASSERT_RESULT(verify(mint_by_hand("{\"alg\":\"none\",\"kid\":\"rsa1\"}", c, SIGN_NONE)),
		      IDTOKEN_BAD_ALG);
	ASSERT_RESULT(verify(mint_by_hand("{\"alg\":\"none\"}", c, SIGN_NONE)), IDTOKEN_BAD_ALG);
	ASSERT_RESULT(verify(mint_by_hand("{\"alg\":\"None\",\"kid\":\"rsa1\"}", c, SIGN_NONE)),
		      IDTOKEN_BAD_ALG);
	/* an RS256 header with the signature stripped */
	ASSERT_RESULT(verify(mint_by_hand("{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", c, SIGN_NONE)),
		      IDTOKEN_BAD_SIGNATURE);
}
END_TEST

START_TEST(hs256_keyed_with_the_rsa_public_pem_is_refused)
{
	char c[512], err[256];
	char *token = mint_libjwt(JWT_ALG_HS256, fx.rsa.pub_pem, strlen(fx.rsa.pub_pem), "rsa1",
				  claims_with(c, sizeof c, ""));
	const struct jwk *k = jwks_key(fx.set, 0);
	struct idtoken_expect ex = std_expect();
	jwt_t *jwt = NULL;

	/* The trap is real: libjwt alone accepts it with the very PEM we hand it. */
	ck_assert_int_eq(jwt_decode(&jwt, token, (const unsigned char *)k->pem, (int)k->pem_len), 0);
	ck_assert_int_eq(jwt_get_alg(jwt), JWT_ALG_HS256);
	jwt_free(jwt);
	ck_assert_int_eq(idtoken_verify(fx.set, token, &ex, NULL, err, sizeof err), IDTOKEN_BAD_ALG);
	ck_assert_str_eq(err, "token alg \"HS256\" is never accepted");
	ASSERT_RESULT(verify(token), IDTOKEN_BAD_ALG);
}
END_TEST

START_TEST(key_type_confusion_is_refused)
{
	char c[512];

	claims_with(c, sizeof c, "");
	/* RS256 signed with the RSA key but naming the EC key's kid */
	ASSERT_RESULT(verify(mint_rs256("ec1", c)), IDTOKEN_BAD_ALG);
	/* ES256 signed with the EC key but naming the RSA key's kid */
	ASSERT_RESULT(verify(mint_by_hand("{\"alg\":\"ES256\",\"kid\":\"rsa1\"}", c, SIGN_EC)),
		      IDTOKEN_BAD_ALG);
	/* RS384 against a key pinned (by default) to RS256 */
	ASSERT_RESULT(verify(mint_libjwt(JWT_ALG_RS384, fx.rsa.priv_pem, strlen(fx.rsa.priv_pem),
					 "rsa1", c)), IDTOKEN_BAD_ALG);
}
END_TEST

START_TEST(jwk_alg_pins_the_algorithm)
{
	char json[4096], c[512], err[256];
	struct jwks *set = NULL;
	struct idtoken_expect ex = std_expect();
	char *rs256 = mint_rs256("k", claims_with(c, sizeof c, ""));
	char *rs384 = mint_libjwt(JWT_ALG_RS384, fx.rsa.priv_pem, strlen(fx.rsa.priv_pem), "k", c);

	snprintf(json, sizeof json, "{\"keys\":[{\"kid\":\"k\",\"alg\":\"RS384\",%s}]}",
		 fx.rsa.jwk_members);
	ck_assert_int_eq(jwks_parse(json, strlen(json), &set, err, sizeof err), 0);
	ck_assert_int_eq(idtoken_verify(set, rs384, &ex, NULL, err, sizeof err), IDTOKEN_OK);
	ck_assert_int_eq(idtoken_verify(set, rs256, &ex, NULL, err, sizeof err), IDTOKEN_BAD_ALG);
	ck_assert_str_eq(err, "token alg RS256 does not match the alg of key \"k\"");
	jwks_free(set);
	free(rs256);
	free(rs384);
}
END_TEST

START_TEST(unknown_kid_is_refused)
{
	char c[512], err[256];
	struct idtoken_expect ex = std_expect();
	char *token = mint_rs256("rotated-away\n\"x", claims_with(c, sizeof c, ""));

	ck_assert_int_eq(idtoken_verify(fx.set, token, &ex, NULL, err, sizeof err),
			 IDTOKEN_UNKNOWN_KID);
	/* the kid is quoted, but cannot break the log line */
	ck_assert_str_eq(err, "no key in the JWKS has kid \"rotated-away??x\"");
	free(token);
	ck_assert_int_eq(idtoken_verify(NULL, "a.b.c", &ex, NULL, err, sizeof err),
			 IDTOKEN_MALFORMED);
}
END_TEST

START_TEST(wrong_issuer_is_refused)
{
	char c[512];

	snprintf(c, sizeof c, "{\"iss\":\"https://evil.example\",\"sub\":\"alice\",\"aud\":\"" AUD
		 "\",\"exp\":%lld,\"nonce\":\"" NONCE "\"}", NOW + 300);
	ASSERT_RESULT(verify(mint_rs256("rsa1", c)), IDTOKEN_BAD_ISSUER);
	/* a prefix is not the issuer */
	snprintf(c, sizeof c, "{\"iss\":\"" ISS "/\",\"sub\":\"alice\",\"aud\":\"" AUD
		 "\",\"exp\":%lld,\"nonce\":\"" NONCE "\"}", NOW + 300);
	ASSERT_RESULT(verify(mint_rs256("rsa1", c)), IDTOKEN_BAD_ISSUER);
	snprintf(c, sizeof c, "{\"sub\":\"alice\",\"aud\":\"" AUD
		 "\",\"exp\":%lld,\"nonce\":\"" NONCE "\"}", NOW + 300);
	ASSERT_RESULT(verify(mint_rs256("rsa1", c)), IDTOKEN_BAD_ISSUER);
}
END_TEST

START_TEST(wrong_audience_and_missing_azp_are_refused)
{
	char c[512];

	snprintf(c, sizeof c, "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":\"other-client\","
		 "\"exp\":%lld,\"nonce\":\"" NONCE "\"}", NOW + 300);
	ASSERT_RESULT(verify(mint_rs256("rsa1", c)), IDTOKEN_BAD_AUDIENCE);
	snprintf(c, sizeof c, "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":[\"a\",\"b\"],"
		 "\"exp\":%lld,\"nonce\":\"" NONCE "\"}", NOW + 300);
	ASSERT_RESULT(verify(mint_rs256("rsa1", c)), IDTOKEN_BAD_AUDIENCE);
	/* several audiences and no azp */
	snprintf(c, sizeof c, "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":[\"" AUD "\",\"b\"],"
		 "\"exp\":%lld,\"nonce\":\"" NONCE "\"}", NOW + 300);
	ASSERT_RESULT(verify(mint_rs256("rsa1", c)), IDTOKEN_BAD_AUDIENCE);
	/* several audiences and azp naming another client */
	snprintf(c, sizeof c, "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":[\"" AUD "\",\"b\"],"
		 "\"azp\":\"b\",\"exp\":%lld,\"nonce\":\"" NONCE "\"}", NOW + 300);
	ASSERT_RESULT(verify(mint_rs256("rsa1", c)), IDTOKEN_BAD_AUDIENCE);
	/* azp naming another client even with one audience */
	snprintf(c, sizeof c, "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":\"" AUD "\","
		 "\"azp\":\"b\",\"exp\":%lld,\"nonce\":\"" NONCE "\"}", NOW + 300);
	ASSERT_RESULT(verify(mint_rs256("rsa1", c)), IDTOKEN_BAD_AUDIENCE);
	/* no aud at all, an empty array, a number */
	snprintf(c, sizeof c, "{\"iss\":\"" ISS "\",\"sub\":\"alice\","
		 "\"exp\":%lld,\"nonce\":\"" NONCE "\"}", NOW + 300);
	ASSERT_RESULT(verify(mint_rs256("rsa1", c)), IDTOKEN_BAD_AUDIENCE);
	snprintf(c, sizeof c, "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":[],"
		 "\"exp\":%lld,\"nonce\":\"" NONCE "\"}", NOW + 300);
	ASSERT_RESULT(verify(mint_rs256("rsa1", c)), IDTOKEN_BAD_AUDIENCE);
	snprintf(c, sizeof c, "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":7,"
		 "\"exp\":%lld,\"nonce\":\"" NONCE "\"}", NOW + 300);
	ASSERT_RESULT(verify(mint_rs256("rsa1", c)), IDTOKEN_MALFORMED);
}
END_TEST

/* Claims of the wrong JSON type are malformed, not merely wrong; and a verifier set up
 * without an issuer or audience refuses everything rather than accepting any. */
START_TEST(claims_of_the_wrong_type_and_missing_expectations_are_refused)
{
	char c[512];
	struct idtoken_expect ex = std_expect();

	snprintf(c, sizeof c, "{\"iss\":7,\"sub\":\"alice\",\"aud\":\"" AUD "\","
		 "\"exp\":%lld,\"nonce\":\"" NONCE "\"}", NOW + 300);
	ASSERT_RESULT(verify(mint_rs256("rsa1", c)), IDTOKEN_MALFORMED);
	ASSERT_RESULT(verify(mint_rs256("rsa1", claims_with(c, sizeof c, ",\"azp\":[\"" AUD "\"]"))),
		      IDTOKEN_MALFORMED);
	snprintf(c, sizeof c, "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":[\"" AUD "\",1],"
		 "\"azp\":\"" AUD "\",\"exp\":%lld,\"nonce\":\"" NONCE "\"}", NOW + 300);
	ASSERT_RESULT(verify(mint_rs256("rsa1", c)), IDTOKEN_MALFORMED);
	ex.issuer = NULL;
	ASSERT_RESULT(verify_ex(mint_rs256("rsa1", claims_with(c, sizeof c, "")), &ex), IDTOKEN_BAD_ISSUER);
	ex = std_expect();
	ex.audience = NULL;
	ASSERT_RESULT(verify_ex(mint_rs256("rsa1", claims_with(c, sizeof c, "")), &ex), IDTOKEN_BAD_AUDIENCE);
}
END_TEST

START_TEST(wrong_or_missing_nonce_is_refused)
{
	char c[512];
	struct idtoken_expect ex = std_expect();

	snprintf(c, sizeof c, "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":\"" AUD "\","
		 "\"exp\":%lld,\"nonce\":\"replayed\"}", NOW + 300);
	ASSERT_RESULT(verify(mint_rs256("rsa1", c)), IDTOKEN_BAD_NONCE);
	snprintf(c, sizeof c, "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":\"" AUD "\","
		 "\"exp\":%lld}", NOW + 300);
	ASSERT_RESULT(verify(mint_rs256("rsa1", c)), IDTOKEN_BAD_NONCE);
	snprintf(c, sizeof c, "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":\"" AUD "\","
		 "\"exp\":%lld,\"nonce\":42}", NOW + 300);
	ASSERT_RESULT(verify(mint_rs256("rsa1", c)), IDTOKEN_BAD_NONCE);
	ex.nonce = "";
	ASSERT_RESULT(verify_ex(mint_rs256("rsa1", claims_with(c, sizeof c, "")), &ex),
		      IDTOKEN_BAD_NONCE);
}
END_TEST

START_TEST(iat_in_the_future_is_refused)
{
	char c[512];

	snprintf(c, sizeof c, "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":\"" AUD "\","
		 "\"iat\":%lld,\"exp\":%lld,\"nonce\":\"" NONCE "\"}", NOW + 3600, NOW + 7200);
	ASSERT_RESULT(verify(mint_rs256("rsa1", c)), IDTOKEN_NOT_YET_VALID);
}
END_TEST

/* Replaces the payload of a signed token with another one, keeping the signature. */
static char *swap_payload(char *token, const char *payload)
{
	char *p = b64url_encode(payload, strlen(payload));
	char *first = strchr(token, '.'), *last = strrchr(token, '.');
	char *out = unit_malloc(strlen(token) + strlen(p) + 2);

	sprintf(out, "%.*s.%s%s", (int)(first - token), token, p, last);
	free(p);
	free(token);
	return out;
}

START_TEST(tampered_payload_or_signature_is_refused)
{
	char c[512], forged[512];
	char *token = mint_rs256("rsa1", claims_with(c, sizeof c, ""));
	char *sig;

	snprintf(forged, sizeof forged, "{\"iss\":\"" ISS "\",\"sub\":\"root\",\"aud\":\"" AUD
		 "\",\"exp\":%lld,\"nonce\":\"" NONCE "\"}", NOW + 300);
	ASSERT_RESULT(verify(swap_payload(unit_strdup(token), forged)), IDTOKEN_BAD_SIGNATURE);

	sig = strrchr(token, '.') + 10;
	*sig = *sig == 'A' ? 'B' : 'A';
	ASSERT_RESULT(verify(unit_strdup(token)), IDTOKEN_BAD_SIGNATURE);
	/* one signature byte short, then one too many */
	token[strlen(token) - 3] = '\0';
	ASSERT_RESULT(verify(unit_strdup(token)), IDTOKEN_BAD_SIGNATURE);
	free(token);

	token = mint_by_hand("{\"alg\":\"ES256\",\"kid\":\"ec1\"}", c, SIGN_EC);
	ASSERT_RESULT(verify(swap_payload(token, forged)), IDTOKEN_BAD_SIGNATURE);
}
END_TEST

START_TEST(es256_signature_padded_like_libjwt_is_refused)
{
	char c[512];

	/* libjwt 1.10 pads each ES half to 66 bytes and accepts that; JWA says 64 bytes. */
	ASSERT_RESULT(verify(mint_by_hand("{\"alg\":\"ES256\",\"kid\":\"ec1\"}",
					  claims_with(c, sizeof c, ""), SIGN_EC_PADDED)),
		      IDTOKEN_BAD_SIGNATURE);
}
END_TEST

START_TEST(exp_must_be_an_integer_and_present)
{
	char c[512], err[256];
	struct idtoken_expect ex = std_expect();
	char *token;

	snprintf(c, sizeof c, "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":\"" AUD "\","
		 "\"exp\":\"%lld\",\"nonce\":\"" NONCE "\"}", NOW + 300);
	ASSERT_RESULT(verify(mint_rs256("rsa1", c)), IDTOKEN_MALFORMED);
	snprintf(c, sizeof c, "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":\"" AUD "\","
		 "\"nonce\":\"" NONCE "\"}");
	token = mint_rs256("rsa1", c);
	ck_assert_int_eq(idtoken_verify(fx.set, token, &ex, NULL, err, sizeof err), IDTOKEN_MALFORMED);
	ck_assert_str_eq(err, "token has no exp");
	free(token);
	snprintf(c, sizeof c, "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":\"" AUD "\","
		 "\"exp\":%lld.5,\"nonce\":\"" NONCE "\"}", NOW + 300);
	ASSERT_RESULT(verify(mint_rs256("rsa1", c)), IDTOKEN_MALFORMED);
	/* a string nbf, which libjwt's grant getter would read as 0 */
	ASSERT_RESULT(verify(mint_rs256("rsa1", claims_with(c, sizeof c, ",\"nbf\":\"9999999999\""))),
		      IDTOKEN_MALFORMED);
	/* extreme values must not overflow the skew arithmetic */
	snprintf(c, sizeof c, "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":\"" AUD "\","
		 "\"exp\":-9223372036854775808,\"nonce\":\"" NONCE "\"}");
	ASSERT_RESULT(verify(mint_rs256("rsa1", c)), IDTOKEN_EXPIRED);
	ASSERT_RESULT(verify(mint_rs256("rsa1", claims_with(c, sizeof c,
		",\"nbf\":9223372036854775807"))), IDTOKEN_NOT_YET_VALID);
}
END_TEST

START_TEST(headers_outside_the_profile_are_refused)
{
	char c[512];

	claims_with(c, sizeof c, "");
	/* an access token (RFC 9068) is not an id_token, even correctly signed */
	ASSERT_RESULT(verify(mint_by_hand("{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"typ\":\"at+jwt\"}",
					  c, SIGN_RSA)), IDTOKEN_MALFORMED);
	ASSERT_RESULT(verify(mint_by_hand("{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"crit\":[\"exp\"]}",
					  c, SIGN_RSA)), IDTOKEN_MALFORMED);
	/* two alg members: whichever one a parser keeps, we refuse to guess */
	ASSERT_RESULT(verify(mint_by_hand("{\"alg\":\"none\",\"alg\":\"RS256\",\"kid\":\"rsa1\"}",
					  c, SIGN_RSA)), IDTOKEN_MALFORMED);
	ASSERT_RESULT(verify(mint_by_hand("{\"alg\":\"RS256\",\"kid\":5}", c, SIGN_RSA)),
		      IDTOKEN_MALFORMED);
	ASSERT_RESULT(verify(mint_by_hand("{\"kid\":\"rsa1\"}", c, SIGN_RSA)), IDTOKEN_MALFORMED);
	/* the payload must be an object */
	ASSERT_RESULT(verify(mint_by_hand("{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", "[1]", SIGN_RSA)),
		      IDTOKEN_MALFORMED);
}
END_TEST

START_TEST(garbage_and_truncated_tokens_are_malformed)
{
	static const char *const garbage[] = {
		"", ".", "..", "abc", "a.b", "a.b.c.d", "...", ".e30.sig", "e30..sig",
		"e30.e30.si g", "e30.e30.sig=", "e30.e30.sig\n", "eyJ!.e30.sig", "e30.e30.x",
	};
	char c[512];
	char *token = mint_rs256("rsa1", claims_with(c, sizeof c, ""));
	char *cut;
	char *huge;

	for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++)
		ck_assert_msg(verify(unit_strdup(garbage[i])) == IDTOKEN_MALFORMED, "garbage %zu", i);
	/* cut inside the payload */
	cut = unit_strdup(token);
	cut[strchr(cut, '.') - cut + 6] = '\0';
	ASSERT_RESULT(verify(cut), IDTOKEN_MALFORMED);
	/* cut inside the header */
	cut = unit_strdup(token);
	cut[7] = '\0';
	ASSERT_RESULT(verify(cut), IDTOKEN_MALFORMED);
	/* too long to be read */
	huge = unit_malloc(IDTOKEN_MAX_LEN + 2);
	memset(huge, 'A', IDTOKEN_MAX_LEN + 1);
	huge[IDTOKEN_MAX_LEN + 1] = '\0';
	memcpy(huge, token, strlen(token));
	ASSERT_RESULT(verify(huge), IDTOKEN_MALFORMED);
	free(token);
	ck_assert_int_eq(idtoken_verify(fx.set, NULL, NULL, NULL, NULL, 0), IDTOKEN_MALFORMED);
}
END_TEST

START_TEST(result_names_are_stable)
{
	ck_assert_str_eq(idtoken_result_name(IDTOKEN_OK), "ok");
	ck_assert_str_eq(idtoken_result_name(IDTOKEN_MALFORMED), "malformed");
	ck_assert_str_eq(idtoken_result_name(IDTOKEN_UNKNOWN_KID), "unknown_kid");
	ck_assert_str_eq(idtoken_result_name(IDTOKEN_BAD_ALG), "bad_alg");
	ck_assert_str_eq(idtoken_result_name(IDTOKEN_BAD_SIGNATURE), "bad_signature");
	ck_assert_str_eq(idtoken_result_name(IDTOKEN_EXPIRED), "expired");
	ck_assert_str_eq(idtoken_result_name(IDTOKEN_NOT_YET_VALID), "not_yet_valid");
	ck_assert_str_eq(idtoken_result_name(IDTOKEN_BAD_ISSUER), "bad_issuer");
	ck_assert_str_eq(idtoken_result_name(IDTOKEN_BAD_AUDIENCE), "bad_audience");
	ck_assert_str_eq(idtoken_result_name(IDTOKEN_BAD_NONCE), "bad_nonce");
	ck_assert_str_eq(idtoken_result_name((enum idtoken_result)99), "unknown");
}
END_TEST

START_TEST(peek_kid_reads_the_header_without_verifying)
{
	char c[512], kid[16];
	char *token = mint_rs256("rotated-2", claims_with(c, sizeof c, ""));
	char *no_kid = mint_rs256(NULL, c);

	ck_assert_int_eq(idtoken_peek_kid(token, kid, sizeof kid), 0);
	ck_assert_str_eq(kid, "rotated-2");
	ck_assert_int_eq(idtoken_peek_kid(token, kid, 9), -1);     /* no room for the NUL */
	ck_assert_int_eq(idtoken_peek_kid(token, kid, 10), 0);
	ck_assert_int_eq(idtoken_peek_kid(no_kid, kid, sizeof kid), -1);
	ck_assert_int_eq(idtoken_peek_kid("garbage", kid, sizeof kid), -1);
	ck_assert_int_eq(idtoken_peek_kid(NULL, kid, sizeof kid), -1);
	free(token);
	free(no_kid);
}
END_TEST

START_TEST(payload_unverified_reads_even_an_expired_token)
{
	char c[512];
	json_t *payload = NULL;
	char *token;

	snprintf(c, sizeof c, "{\"sub\":\"alice\",\"exp\":%lld}", NOW - 3600);
	token = mint_rs256("whatever", c);
	ck_assert_int_eq(jwt_payload_unverified(token, &payload), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(payload, "exp")), NOW - 3600);
	json_decref(payload);
	ck_assert_int_eq(jwt_payload_unverified("e30.W10.x", &payload), -1);   /* [] */
	ck_assert_ptr_null(payload);
	ck_assert_int_eq(jwt_payload_unverified("nonsense", &payload), -1);
	free(token);
}
END_TEST

static Suite *idtoken_suite(void)
{
	Suite *s = suite_create("idtoken");
	TCase *tc = tcase_create("idtoken");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, jwks_keeps_rsa_and_ec_and_skips_enc_oct_and_unknown_kty);
	tcase_add_test(tc, jwks_refuses_malformed_json);
	tcase_add_test(tc, jwks_refuses_bad_base64url);
	tcase_add_test(tc, jwks_skips_weak_or_mismatched_keys_and_needs_one_usable);
	tcase_add_test(tc, jwks_refuses_short_ec_coordinates);
	tcase_add_test(tc, jwks_refuses_rsa_exponent_one_or_even);
	tcase_add_test(tc, jwks_refuses_too_many_keys);
	tcase_add_test(tc, rs256_from_libjwt_verifies_and_returns_claims);
	tcase_add_test(tc, large_token_with_many_groups_verifies);
	tcase_add_test(tc, es256_with_raw_r_s_verifies);
	tcase_add_test(tc, exp_and_nbf_within_skew_pass_and_beyond_fail);
	tcase_add_test(tc, aud_array_with_matching_azp_passes);
	tcase_add_test(tc, no_kid_uses_the_only_key);
	tcase_add_test(tc, no_kid_token_of_another_alg_than_the_only_key_is_refused);
	tcase_add_test(tc, nonce_not_checked_when_not_expected);
	tcase_add_test(tc, alg_none_is_refused);
	tcase_add_test(tc, hs256_keyed_with_the_rsa_public_pem_is_refused);
	tcase_add_test(tc, key_type_confusion_is_refused);
	tcase_add_test(tc, jwk_alg_pins_the_algorithm);
	tcase_add_test(tc, unknown_kid_is_refused);
	tcase_add_test(tc, wrong_issuer_is_refused);
	tcase_add_test(tc, wrong_audience_and_missing_azp_are_refused);
	tcase_add_test(tc, claims_of_the_wrong_type_and_missing_expectations_are_refused);
	tcase_add_test(tc, wrong_or_missing_nonce_is_refused);
	tcase_add_test(tc, iat_in_the_future_is_refused);
	tcase_add_test(tc, tampered_payload_or_signature_is_refused);
	tcase_add_test(tc, es256_signature_padded_like_libjwt_is_refused);
	tcase_add_test(tc, exp_must_be_an_integer_and_present);
	tcase_add_test(tc, headers_outside_the_profile_are_refused);
	tcase_add_test(tc, garbage_and_truncated_tokens_are_malformed);
	tcase_add_test(tc, result_names_are_stable);
	tcase_add_test(tc, peek_kid_reads_the_header_without_verifying);
	tcase_add_test(tc, payload_unverified_reads_even_an_expired_token);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(idtoken_suite)
