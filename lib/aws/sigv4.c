/* AWS SigV4 as specified in ssm-protocol.md §A; the official test suite is the judge. */
#include "core/errmsg.h"
#include "aws/sigv4.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/encoding.h"

/* Bounds for everything the signer builds: a session token is a few KiB, headers and
 * queries of the AWS APIs used here are small. */
#define SIGV4_TEXT_MAX (256 * 1024)
#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"

struct canon_header {
	char *name;     /* lower-case */
	char *value;    /* trimmed, whitespace runs collapsed */
	size_t order;   /* input position: duplicates keep their order when joined */
};

struct canon_param {
	char *name;     /* encoded */
	char *value;    /* encoded */
};

void aws_credentials_clear(struct aws_credentials *c)
{
	if (!c)
		return;
	if (c->secret_access_key)
		gnutls_memset(c->secret_access_key, 0, strlen(c->secret_access_key));
	if (c->session_token)
		gnutls_memset(c->session_token, 0, strlen(c->session_token));
	free(c->access_key_id);
	free(c->secret_access_key);
	free(c->session_token);
	c->access_key_id = c->secret_access_key = c->session_token = NULL;
}

int aws_credentials_copy(struct aws_credentials *dst, const struct aws_credentials *src)
{
	dst->access_key_id = src->access_key_id ? strdup(src->access_key_id) : NULL;
	dst->secret_access_key = src->secret_access_key ? strdup(src->secret_access_key) : NULL;
	dst->session_token = src->session_token ? strdup(src->session_token) : NULL;
	if ((src->access_key_id && !dst->access_key_id) ||
	    (src->secret_access_key && !dst->secret_access_key) ||
	    (src->session_token && !dst->session_token)) {
		aws_credentials_clear(dst);
		return -1;
	}
	return 0;
}

int sigv4_format_amz_date(time_t t, char out[17])
{
	struct tm tm;

	if (!gmtime_r(&t, &tm))
		return -1;
	return strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) == 16 ? 0 : -1;
}

static bool is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == '~';
}

int sigv4_uri_encode(struct buf *out, const char *s, size_t len, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char enc[3] = { '%', hex[c >> 4], hex[c & 15] };

		if (is_unreserved(c) || (keep_slash && c == '/')) {
			if (buf_append(out, &s[i], 1) != 0)
				return -1;
		} else if (buf_append(out, enc, 3) != 0) {
			return -1;
		}
	}
	return 0;
}

/* Removes empty, "." and ".." segments (RFC 3986 dot-segment removal plus collapsing of
 * repeated slashes, as the suite's *-normalized cases expect); a trailing slash stays. */
static int normalize_path(const char *path, struct buf *out)
{
	size_t n = strlen(path), *starts = NULL, *lens = NULL, depth = 0;
	const char *p = path, *end = path + n;
	bool trailing = false;
	int rc = -1;

	starts = calloc(n + 1, sizeof *starts);
	lens = calloc(n + 1, sizeof *lens);
	if (!starts || !lens)
		goto fail;
	while (p < end) {
		const char *seg, *slash;
		size_t len;

		while (p < end && *p == '/')
			p++;
		if (p >= end) {
			trailing = true;
			break;
		}
		seg = p;
		slash = memchr(seg, '/', (size_t)(end - seg));
		len = slash ? (size_t)(slash - seg) : (size_t)(end - seg);
		p = seg + len;
		trailing = false;
		if (len == 1 && seg[0] == '.') {
			trailing = true;
		} else if (len == 2 && seg[0] == '.' && seg[1] == '.') {
			if (depth)
				depth--;
			trailing = true;
		} else {
			starts[depth] = (size_t)(seg - path);
			lens[depth] = len;
			depth++;
		}
	}
	if (buf_append_str(out, "/") != 0)
		goto fail;
	for (size_t i = 0; i < depth; i++) {
		if (i && buf_append_str(out, "/") != 0)
			goto fail;
		if (buf_append(out, path + starts[i], lens[i]) != 0)
			goto fail;
	}
	if (depth && trailing && buf_append_str(out, "/") != 0)
		goto fail;
	rc = 0;
fail:
	free(starts);
	free(lens);
	return rc;
}

static int canonical_uri(const struct sigv4_request *req, struct buf *out)
{
	const char *path = req->path && *req->path ? req->path : "/";
	struct buf norm;
	int rc = -1;

	buf_init(&norm, SIGV4_TEXT_MAX);
	if (req->normalize_path) {
		if (normalize_path(path, &norm) != 0)
			goto fail;
		path = norm.data;
	}
	rc = sigv4_uri_encode(out, path, strlen(path), true);
fail:
	buf_free(&norm);
	return rc;
}

/* Trims the value and collapses every inner run of whitespace into one space. */
static char *canonical_header_value(const char *v)
{
	struct buf b;
	bool pending_space = false;

	buf_init(&b, SIGV4_TEXT_MAX);
	while (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n')
		v++;
	for (; *v; v++) {
		if (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n') {
			pending_space = true;
			continue;
		}
		if ((pending_space && buf_append_str(&b, " ") != 0) || buf_append(&b, v, 1) != 0) {
			buf_free(&b);
			return NULL;
		}
		pending_space = false;
	}
	return buf_steal(&b);
}

static int compare_headers(const void *a, const void *b)
{
	const struct canon_header *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int compare_params(const void *a, const void *b)
{
	const struct canon_param *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

static int add_header(struct canon_header *h, size_t *count, const char *name,
		      const char *value)
{
	struct canon_header *e = &h[*count];

	e->name = strdup(name);
	e->value = canonical_header_value(value ? value : "");
	e->order = *count;
	(*count)++;
	if (!e->name || !e->value)
		return -1;
	for (char *c = e->name; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	return 0;
}

static int add_param(struct canon_param *p, size_t *count, const char *name,
		     const char *value)
{
	struct canon_param *e = &p[*count];
	struct buf n, v;

	buf_init(&n, SIGV4_TEXT_MAX);
	buf_init(&v, SIGV4_TEXT_MAX);
	(*count)++;
	if (sigv4_uri_encode(&n, name, strlen(name), false) != 0 ||
	    sigv4_uri_encode(&v, value ? value : "", value ? strlen(value) : 0, false) != 0) {
		buf_free(&n);
		buf_free(&v);
		e->name = e->value = NULL;
		return -1;
	}
	e->name = buf_steal(&n);
	e->value = buf_steal(&v);
	return e->name && e->value ? 0 : -1;
}

/* Everything that differs between header and query signing. */
struct sign_extras {
	const struct sigv4_header *headers;  /* added to the signed headers */
	size_t header_count;
	const struct sigv4_param *params;    /* added to the query (presign) */
	size_t param_count;
};

static int build_signed_headers(const struct sigv4_request *req,
				const struct sign_extras *ex, struct canon_header **out,
				size_t *out_count, struct buf *list)
{
	size_t total = req->header_count + ex->header_count, n = 0;
	struct canon_header *h = calloc(total ? total : 1, sizeof *h);

	*out = h;
	*out_count = 0;
	if (!h)
		return -1;
	for (size_t i = 0; i < total; i++) {
		const struct sigv4_header *src = i < req->header_count
			? &req->headers[i] : &ex->headers[i - req->header_count];
		int rc = add_header(h, &n, src->name, src->value);

		*out_count = n; /* what the caller must free, even on failure */
		if (rc != 0)
			return -1;
	}
	qsort(h, n, sizeof *h, compare_headers);
	for (size_t i = 0; i < n; i++) {
		if (i && !strcmp(h[i].name, h[i - 1].name))
			continue;
		if ((i && buf_append_str(list, ";") != 0) || buf_append_str(list, h[i].name) != 0)
			return -1;
	}
	return 0;
}

static void free_headers(struct canon_header *h, size_t n)
{
	for (size_t i = 0; h && i < n; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	free(h);
}

static void free_params(struct canon_param *p, size_t n)
{
	for (size_t i = 0; p && i < n; i++) {
		free(p[i].name);
		free(p[i].value);
	}
	free(p);
}

static int canonical_query(const struct sigv4_request *req, const struct sign_extras *ex,
			   struct buf *out)
{
	size_t total = req->query_count + ex->param_count, n = 0;
	struct canon_param *p = calloc(total ? total : 1, sizeof *p);
	int rc = -1;

	if (!p)
		return -1;
	for (size_t i = 0; i < req->query_count; i++)
		if (add_param(p, &n, req->query[i].name, req->query[i].value) != 0)
			goto fail;
	for (size_t i = 0; i < ex->param_count; i++)
		if (add_param(p, &n, ex->params[i].name, ex->params[i].value) != 0)
			goto fail;
	qsort(p, n, sizeof *p, compare_params);
	for (size_t i = 0; i < n; i++)
		if (buf_printf(out, "%s%s=%s", i ? "&" : "", p[i].name, p[i].value) != 0)
			goto fail;
	rc = 0;
fail:
	free_params(p, n);
	return rc;
}

/* Canonical request (§A.3) into creq; the signed-header list into signed_list. */
static int canonical_request(const struct sigv4_request *req, const struct sign_extras *ex,
			     const char *payload_hash, struct buf *creq,
			     struct buf *signed_list)
{
	struct canon_header *h = NULL;
	size_t n = 0;
	int rc = -1;

	if (build_signed_headers(req, ex, &h, &n, signed_list) != 0)
		goto fail;
	if (buf_printf(creq, "%s\n", req->method) != 0 || canonical_uri(req, creq) != 0 ||
	    buf_append_str(creq, "\n") != 0 || canonical_query(req, ex, creq) != 0 ||
	    buf_append_str(creq, "\n") != 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		bool same_as_prev = i && !strcmp(h[i].name, h[i - 1].name);
		bool same_as_next = i + 1 < n && !strcmp(h[i].name, h[i + 1].name);

		if (!same_as_prev && buf_printf(creq, "%s:", h[i].name) != 0)
			goto fail;
		if (buf_printf(creq, "%s%s", h[i].value, same_as_next ? "," : "\n") != 0)
			goto fail;
	}
	if (buf_printf(creq, "\n%s\n%s", signed_list->data, payload_hash) != 0)
		goto fail;
	rc = 0;
fail:
	free_headers(h, n);
	return rc;
}

static int hmac(const void *key, size_t keylen, const char *msg, uint8_t out[SHA256_LEN])
{
	return gnutls_hmac_fast(GNUTLS_MAC_SHA256, key, keylen, msg, strlen(msg), out) == 0 ? 0 : -1;
}

/* kSigning = HMAC chain of §A.5; then the hex signature of string_to_sign. */
static int compute_signature(const struct sigv4_signing *sig, const char *datestamp,
			     const char *string_to_sign, char out[65])
{
	size_t slen = strlen(sig->creds->secret_access_key);
	char *key = malloc(slen + 5);
	uint8_t k1[SHA256_LEN], k2[SHA256_LEN];
	int rc = -1;

	if (!key)
		return -1;
	memcpy(key, "AWS4", 4);
	memcpy(key + 4, sig->creds->secret_access_key, slen + 1);
	if (hmac(key, slen + 4, datestamp, k1) != 0 ||
	    hmac(k1, sizeof k1, sig->region, k2) != 0 ||
	    hmac(k2, sizeof k2, sig->service, k1) != 0 ||
	    hmac(k1, sizeof k1, "aws4_request", k2) != 0 ||
	    hmac(k2, sizeof k2, string_to_sign, k1) != 0)
		goto fail;
	hex_encode(k1, sizeof k1, out);
	rc = 0;
fail:
	gnutls_memset(key, 0, slen + 4);
	gnutls_memset(k1, 0, sizeof k1);
	gnutls_memset(k2, 0, sizeof k2);
	free(key);
	return rc;
}

static bool valid_inputs(const struct sigv4_request *req, const struct sigv4_signing *sig,
			 char *err, size_t errlen)
{
	const char *d = sig->amz_date;

	if (!req->method || !*req->method || !sig->creds || !sig->creds->access_key_id ||
	    !*sig->creds->access_key_id || !sig->creds->secret_access_key ||
	    !sig->region || !*sig->region || !sig->service || !*sig->service) {
		set_err(err, errlen, "sigv4: method, credentials, region and service are required");
		return false;
	}
	if (!d || strlen(d) != 16 || d[8] != 'T' || d[15] != 'Z') {
		set_err(err, errlen, "sigv4: amz_date must be YYYYMMDDTHHMMSSZ");
		return false;
	}
	if ((req->body_len && !req->body) || (req->query_count && !req->query) ||
	    (req->header_count && !req->headers)) {
		set_err(err, errlen, "sigv4: inconsistent request");
		return false;
	}
	for (size_t i = 0; i < req->header_count; i++) {
		const char *name = req->headers[i].name;

		if (!name || !*name || strcspn(name, ": \t\r\n") != strlen(name)) {
			set_err(err, errlen, "sigv4: header without a valid name");
			return false;
		}
		if (!strcasecmp(name, "x-amz-date") || !strcasecmp(name, "x-amz-security-token") ||
		    !strcasecmp(name, "authorization")) {
			set_err(err, errlen, "sigv4: x-amz-date, x-amz-security-token and "
					     "authorization are added by the signer");
			return false;
		}
	}
	for (size_t i = 0; i < req->query_count; i++) {
		if (!req->query[i].name) {
			set_err(err, errlen, "sigv4: query parameter without a name");
			return false;
		}
	}
	return true;
}

static bool has_token(const struct sigv4_signing *sig)
{
	return sig->creds->session_token && *sig->creds->session_token;
}

/* String to sign (§A.4) and signature from a finished canonical request. */
static int finish(const struct sigv4_signing *sig, struct buf *creq, struct sigv4_result *out)
{
	char datestamp[9], creq_hash[65];
	struct buf sts;

	buf_init(&sts, SIGV4_TEXT_MAX);
	memcpy(datestamp, sig->amz_date, 8);
	datestamp[8] = '\0';
	if (sha256_hex(creq->data, creq->len, creq_hash) != 0 ||
	    buf_printf(&sts, "%s\n%s\n%s/%s/%s/aws4_request\n%s", SIGV4_ALGORITHM, sig->amz_date,
		       datestamp, sig->region, sig->service, creq_hash) != 0 ||
	    compute_signature(sig, datestamp, sts.data, out->signature) != 0) {
		buf_free(&sts);
		return -1;
	}
	out->canonical_request = buf_steal(creq);
	out->string_to_sign = buf_steal(&sts);
	return 0;
}

int sigv4_sign_headers(const struct sigv4_request *req, const struct sigv4_signing *sig,
		       struct sigv4_result *out, char *err, size_t errlen)
{
	struct sigv4_header extra[3];
	struct sign_extras ex = { .headers = extra };
	struct buf creq, list, auth;
	char datestamp[9];

	memset(out, 0, sizeof *out);
	buf_init(&creq, SIGV4_TEXT_MAX);
	buf_init(&list, SIGV4_TEXT_MAX);
	buf_init(&auth, SIGV4_TEXT_MAX);
	if (!valid_inputs(req, sig, err, errlen))
		goto fail_quiet;
	if (sha256_hex(req->body ? req->body : "", req->body_len, out->payload_hash) != 0)
		goto fail;
	extra[ex.header_count++] = (struct sigv4_header){ "x-amz-date", sig->amz_date };
	if (has_token(sig) && !sig->session_token_unsigned)
		extra[ex.header_count++] =
			(struct sigv4_header){ "x-amz-security-token", sig->creds->session_token };
	if (sig->sign_body_hash)
		extra[ex.header_count++] =
			(struct sigv4_header){ "x-amz-content-sha256", out->payload_hash };
	if (canonical_request(req, &ex, out->payload_hash, &creq, &list) != 0 ||
	    finish(sig, &creq, out) != 0)
		goto fail;
	memcpy(datestamp, sig->amz_date, 8);
	datestamp[8] = '\0';
	if (buf_printf(&auth, "%s Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, Signature=%s",
		       SIGV4_ALGORITHM, sig->creds->access_key_id, datestamp, sig->region,
		       sig->service, list.data, out->signature) != 0)
		goto fail;
	out->authorization = buf_steal(&auth);
	out->signed_headers = buf_steal(&list);
	buf_free(&creq);
	return 0;
fail:
	set_err(err, errlen, "sigv4: request too large or out of memory");
fail_quiet:
	buf_free(&creq);
	buf_free(&list);
	buf_free(&auth);
	sigv4_result_free(out);
	return -1;
}

int sigv4_presign(const struct sigv4_request *req, const struct sigv4_signing *sig,
		  long expires_seconds, struct sigv4_result *out, char *err, size_t errlen)
{
	struct sigv4_param params[6];
	struct sign_extras ex = { .params = params };
	struct buf creq, list, credential, query;
	char datestamp[9], expires[24];

	memset(out, 0, sizeof *out);
	buf_init(&creq, SIGV4_TEXT_MAX);
	buf_init(&list, SIGV4_TEXT_MAX);
	buf_init(&credential, SIGV4_TEXT_MAX);
	buf_init(&query, SIGV4_TEXT_MAX);
	if (!valid_inputs(req, sig, err, errlen))
		goto fail_quiet;
	if (expires_seconds < 1 || expires_seconds > 604800) {
		set_err(err, errlen, "sigv4: presign expiry must be 1..604800 seconds");
		goto fail_quiet;
	}
	memcpy(datestamp, sig->amz_date, 8);
	datestamp[8] = '\0';
	snprintf(expires, sizeof expires, "%ld", expires_seconds);
	if (sha256_hex(req->body ? req->body : "", req->body_len, out->payload_hash) != 0)
		goto fail;
	/* The signed-header list goes into the query, so compute it first. */
	{
		struct canon_header *h = NULL;
		size_t n = 0;
		struct sign_extras none = { 0 };
		int rc = build_signed_headers(req, &none, &h, &n, &list);

		free_headers(h, n);
		if (rc != 0)
			goto fail;
	}
	if (buf_printf(&credential, "%s/%s/%s/%s/aws4_request", sig->creds->access_key_id,
		       datestamp, sig->region, sig->service) != 0)
		goto fail;
	params[ex.param_count++] = (struct sigv4_param){ "X-Amz-Algorithm", SIGV4_ALGORITHM };
	params[ex.param_count++] = (struct sigv4_param){ "X-Amz-Credential", credential.data };
	params[ex.param_count++] = (struct sigv4_param){ "X-Amz-Date", sig->amz_date };
	params[ex.param_count++] = (struct sigv4_param){ "X-Amz-Expires", expires };
	params[ex.param_count++] = (struct sigv4_param){ "X-Amz-SignedHeaders", list.data };
	if (has_token(sig) && !sig->session_token_unsigned)
		params[ex.param_count++] =
			(struct sigv4_param){ "X-Amz-Security-Token", sig->creds->session_token };
	{
		struct buf ignored;
		int rc;

		buf_init(&ignored, SIGV4_TEXT_MAX);
		rc = canonical_request(req, &ex, out->payload_hash, &creq, &ignored);
		buf_free(&ignored);
		if (rc != 0 || finish(sig, &creq, out) != 0)
			goto fail;
	}
	if (canonical_query(req, &ex, &query) != 0 ||
	    buf_printf(&query, "&X-Amz-Signature=%s", out->signature) != 0)
		goto fail;
	if (has_token(sig) && sig->session_token_unsigned) {
		const char *t = sig->creds->session_token;

		if (buf_append_str(&query, "&X-Amz-Security-Token=") != 0 ||
		    sigv4_uri_encode(&query, t, strlen(t), false) != 0)
			goto fail;
	}
	out->query_string = buf_steal(&query);
	out->signed_headers = buf_steal(&list);
	buf_free(&credential);
	return 0;
fail:
	set_err(err, errlen, "sigv4: request too large or out of memory");
fail_quiet:
	buf_free(&creq);
	buf_free(&list);
	buf_free(&credential);
	buf_free(&query);
	sigv4_result_free(out);
	return -1;
}

void sigv4_result_free(struct sigv4_result *r)
{
	free(r->canonical_request);
	free(r->string_to_sign);
	free(r->signed_headers);
	free(r->authorization);
	free(r->query_string);
	memset(r, 0, sizeof *r);
}
