#include "core/errmsg.h"
#include "auth/jwks.h"

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/encoding.h"

/* RSA moduli below this many bits are not trusted to sign logins; above the upper bound a
 * key would only make every verification slow. */
#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 16384
#define RSA_MAX_EXPONENT_BYTES 8
#define KID_MAX_LEN 256

struct owned_key {
	char *kid;
	char *pem;
	struct jwk view;        /* points into kid and pem */
};

struct jwks {
	size_t count;
	struct owned_key keys[JWKS_MAX_KEYS];
};

enum key_outcome { KEY_FAILED = -1, KEY_SKIPPED = 0, KEY_KEPT = 1 };

/* Optional string member: 0 with *out NULL when absent, -1 when present but not a string
 * or when it holds a NUL (which would make C comparisons disagree with JSON ones). */
static int optional_string(json_t *obj, const char *name, const char **out)
{
	json_t *v = json_object_get(obj, name);

	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return -1;
	*out = json_string_value(v);
	return 0;
}

/* Decodes a required base64url member into *out (malloc'd); -1 if missing or invalid. */
static int decode_member(json_t *obj, const char *name, unsigned char **out, size_t *out_len)
{
	const char *s;

	*out = NULL;
	*out_len = 0;
	if (optional_string(obj, name, &s) != 0 || !s || !*s)
		return -1;
	return b64url_decode(s, strlen(s), out, out_len);
}

/* An unsigned big-endian integer without its leading zero bytes. */
static void strip_leading_zeros(gnutls_datum_t *d)
{
	while (d->size > 0 && d->data[0] == 0) {
		d->data++;
		d->size--;
	}
}

static int key_ops_allow_verify(json_t *ops)
{
	size_t i;
	json_t *op;

	json_array_foreach(ops, i, op) {
		if (json_is_string(op) && strcmp(json_string_value(op), "verify") == 0)
			return 1;
	}
	return 0;
}

/* RSA: the algorithm (RS256 unless "alg" says RS384/RS512) and the public key. */
static enum key_outcome import_rsa(json_t *k, size_t idx, const char *alg, gnutls_pubkey_t pk,
				   struct jwk *view, char *err, size_t errlen)
{
	unsigned char *n_raw = NULL, *e_raw = NULL;
	size_t n_len, e_len;
	gnutls_datum_t n, e;
	enum key_outcome rc = KEY_FAILED;

	/* The pinned name must outlive the parsed JSON: take it from a constant table. */
	static const char *const rsa_algs[] = { "RS256", "RS384", "RS512" };
	size_t i;

	view->alg = alg ? NULL : rsa_algs[0];
	for (i = 0; alg && i < sizeof rsa_algs / sizeof rsa_algs[0]; i++)
		if (strcmp(alg, rsa_algs[i]) == 0)
			view->alg = rsa_algs[i];
	if (!view->alg) {
		rc = KEY_SKIPPED;       /* PS256, RSA-OAEP, ...: nothing libjwt 1.10 verifies */
		goto done;
	}
	if (decode_member(k, "n", &n_raw, &n_len) != 0 ||
	    decode_member(k, "e", &e_raw, &e_len) != 0) {
		set_err(err, errlen, "JWKS keys[%zu]: RSA n or e is missing or not base64url", idx);
		goto done;
	}
	n = (gnutls_datum_t){ n_raw, (unsigned int)n_len };
	e = (gnutls_datum_t){ e_raw, (unsigned int)e_len };
	strip_leading_zeros(&n);
	strip_leading_zeros(&e);
	/* e = 1 would make the "signature" the padded hash itself; an even e is no RSA key. */
	if (e.size == 0 || e.size > RSA_MAX_EXPONENT_BYTES || (e.size == 1 && e.data[0] < 3) ||
	    (e.data[e.size - 1] & 1) == 0) {
		set_err(err, errlen, "JWKS keys[%zu]: RSA exponent is out of range", idx);
		goto done;
	}
	if (n.size * 8 < RSA_MIN_BITS || n.size * 8 > RSA_MAX_BITS) {
		rc = KEY_SKIPPED;
		goto done;
	}
	if (gnutls_pubkey_import_rsa_raw(pk, &n, &e) < 0) {
		set_err(err, errlen, "JWKS keys[%zu]: GnuTLS refused the RSA key", idx);
		goto done;
	}
	view->sig_len = n.size;
	rc = KEY_KEPT;
done:
	free(n_raw);
	free(e_raw);
	return rc;
}

/* EC: P-256 pins ES256, P-384 pins ES384; x and y must have the curve's full length. */
static enum key_outcome import_ec(json_t *k, size_t idx, const char *alg, gnutls_pubkey_t pk,
				  struct jwk *view, char *err, size_t errlen)
{
	unsigned char *x_raw = NULL, *y_raw = NULL;
	size_t x_len, y_len, coord;
	const char *crv, *pinned;
	gnutls_ecc_curve_t curve;
	gnutls_datum_t x, y;
	enum key_outcome rc = KEY_FAILED;

	if (optional_string(k, "crv", &crv) != 0 || !crv) {
		set_err(err, errlen, "JWKS keys[%zu]: EC key without a crv string", idx);
		goto done;
	}
	if (strcmp(crv, "P-256") == 0) {
		curve = GNUTLS_ECC_CURVE_SECP256R1;
		coord = 32;
		pinned = "ES256";
	} else if (strcmp(crv, "P-384") == 0) {
		curve = GNUTLS_ECC_CURVE_SECP384R1;
		coord = 48;
		pinned = "ES384";
	} else {
		rc = KEY_SKIPPED;
		goto done;
	}
	if (alg && strcmp(alg, pinned) != 0) {
		rc = KEY_SKIPPED;       /* an alg that does not fit the curve verifies nothing */
		goto done;
	}
	view->alg = pinned;
	if (decode_member(k, "x", &x_raw, &x_len) != 0 ||
	    decode_member(k, "y", &y_raw, &y_len) != 0) {
		set_err(err, errlen, "JWKS keys[%zu]: EC x or y is missing or not base64url", idx);
		goto done;
	}
	if (x_len != coord || y_len != coord) {
		set_err(err, errlen, "JWKS keys[%zu]: EC coordinates must be %zu bytes", idx, coord);
		goto done;
	}
	x = (gnutls_datum_t){ x_raw, (unsigned int)x_len };
	y = (gnutls_datum_t){ y_raw, (unsigned int)y_len };
	if (gnutls_pubkey_import_ecc_raw(pk, curve, &x, &y) < 0) {
		set_err(err, errlen, "JWKS keys[%zu]: GnuTLS refused the EC key", idx);
		goto done;
	}
	view->sig_len = 2 * coord;
	rc = KEY_KEPT;
done:
	free(x_raw);
	free(y_raw);
	return rc;
}

static enum key_outcome parse_key(json_t *k, size_t idx, struct owned_key *dst, char *err,
				  size_t errlen)
{
	const char *kty, *use, *kid, *alg;
	json_t *ops;
	gnutls_pubkey_t pk = NULL;
	gnutls_datum_t pem = { NULL, 0 };
	enum key_outcome rc = KEY_FAILED;

	memset(dst, 0, sizeof *dst);
	if (!json_is_object(k)) {
		set_err(err, errlen, "JWKS keys[%zu] is not an object", idx);
		goto done;
	}
	if (optional_string(k, "kty", &kty) != 0 || !kty ||
	    optional_string(k, "use", &use) != 0 || optional_string(k, "kid", &kid) != 0 ||
	    optional_string(k, "alg", &alg) != 0) {
		set_err(err, errlen, "JWKS keys[%zu]: kty missing, or kty/use/kid/alg not a string",
			idx);
		goto done;
	}
	ops = json_object_get(k, "key_ops");
	if (ops && !json_is_array(ops)) {
		set_err(err, errlen, "JWKS keys[%zu]: key_ops is not an array", idx);
		goto done;
	}
	if (kid && strlen(kid) > KID_MAX_LEN) {
		set_err(err, errlen, "JWKS keys[%zu]: kid is longer than %d bytes", idx, KID_MAX_LEN);
		goto done;
	}
	if ((use && strcmp(use, "sig") != 0) || (ops && !key_ops_allow_verify(ops))) {
		rc = KEY_SKIPPED;       /* an encryption key must never verify a signature */
		goto done;
	}
	if (strcmp(kty, "RSA") != 0 && strcmp(kty, "EC") != 0) {
		rc = KEY_SKIPPED;       /* "oct" above all: a shared secret is no public key */
		goto done;
	}
	if (gnutls_pubkey_init(&pk) < 0) {
		set_err(err, errlen, "out of memory");
		goto done;
	}
	if (strcmp(kty, "RSA") == 0)
		rc = import_rsa(k, idx, alg, pk, &dst->view, err, errlen);
	else
		rc = import_ec(k, idx, alg, pk, &dst->view, err, errlen);
	if (rc != KEY_KEPT)
		goto done;
	rc = KEY_FAILED;
	if (gnutls_pubkey_export2(pk, GNUTLS_X509_FMT_PEM, &pem) < 0) {
		set_err(err, errlen, "JWKS keys[%zu]: cannot export the key as PEM", idx);
		goto done;
	}
	dst->pem = malloc(pem.size + 1);
	dst->kid = kid ? strdup(kid) : NULL;
	if (!dst->pem || (kid && !dst->kid)) {
		set_err(err, errlen, "out of memory");
		goto done;
	}
	memcpy(dst->pem, pem.data, pem.size);
	dst->pem[pem.size] = '\0';
	dst->view.kid = dst->kid;
	dst->view.pem = dst->pem;
	dst->view.pem_len = pem.size;
	rc = KEY_KEPT;
done:
	if (rc != KEY_KEPT) {
		free(dst->pem);
		free(dst->kid);
		memset(dst, 0, sizeof *dst);
	}
	gnutls_free(pem.data);
	if (pk)
		gnutls_pubkey_deinit(pk);
	return rc;
}

int jwks_parse(const char *json, size_t len, struct jwks **out, char *err, size_t errlen)
{
	struct jwks *set = NULL;
	json_t *root = NULL, *keys, *k;
	json_error_t jerr;
	size_t i;

	*out = NULL;
	if (!json || len > JWKS_MAX_BYTES) {
		set_err(err, errlen, "JWKS is missing or larger than %d bytes", JWKS_MAX_BYTES);
		goto fail;
	}
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		/* jerr.text quotes the input; only the position goes into the message. */
		set_err(err, errlen, "JWKS is not valid JSON (line %d, column %d)", jerr.line,
			jerr.column);
		goto fail;
	}
	keys = json_object_get(root, "keys");
	if (!json_is_array(keys)) {
		set_err(err, errlen, "JWKS has no \"keys\" array");
		goto fail;
	}
	if (json_array_size(keys) > JWKS_MAX_KEYS) {
		set_err(err, errlen, "JWKS has more than %d keys", JWKS_MAX_KEYS);
		goto fail;
	}
	set = calloc(1, sizeof *set);
	if (!set) {
		set_err(err, errlen, "out of memory");
		goto fail;
	}
	json_array_foreach(keys, i, k) {
		enum key_outcome rc = parse_key(k, i, &set->keys[set->count], err, errlen);

		if (rc == KEY_FAILED)
			goto fail;
		if (rc == KEY_KEPT)
			set->count++;
	}
	if (set->count == 0) {
		set_err(err, errlen, "JWKS has no usable signing key");
		goto fail;
	}
	json_decref(root);
	*out = set;
	return 0;
fail:
	jwks_free(set);
	json_decref(root);
	return -1;
}

void jwks_free(struct jwks *keys)
{
	size_t i;

	if (!keys)
		return;
	for (i = 0; i < keys->count; i++) {
		free(keys->keys[i].kid);
		free(keys->keys[i].pem);
	}
	free(keys);
}

size_t jwks_count(const struct jwks *keys)
{
	return keys ? keys->count : 0;
}

bool jwks_has_kid(const struct jwks *keys, const char *kid)
{
	size_t i;

	if (!keys || !kid)
		return false;
	for (i = 0; i < keys->count; i++)
		if (keys->keys[i].kid && strcmp(keys->keys[i].kid, kid) == 0)
			return true;
	return false;
}

const struct jwk *jwks_key(const struct jwks *keys, size_t index)
{
	if (!keys || index >= keys->count)
		return NULL;
	return &keys->keys[index].view;
}
