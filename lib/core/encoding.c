#include "core/encoding.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdlib.h>
#include <string.h>

char *b64_encode(const void *data, size_t len)
{
	gnutls_datum_t in = { (unsigned char *)data, (unsigned int)len };
	gnutls_datum_t out = { NULL, 0 };
	char *s;

	if (len == 0)
		return strdup("");
	if (gnutls_base64_encode2(&in, &out) != 0)
		return NULL;
	s = malloc(out.size + 1);
	if (s) {
		memcpy(s, out.data, out.size);
		s[out.size] = '\0';
	}
	gnutls_free(out.data);
	return s;
}

int b64_decode(const char *in, size_t in_len, unsigned char **out, size_t *out_len)
{
	gnutls_datum_t src = { (unsigned char *)in, (unsigned int)in_len };
	gnutls_datum_t dst = { NULL, 0 };
	unsigned char *p;

	*out = NULL;
	*out_len = 0;
	if (in_len == 0) {
		*out = calloc(1, 1);
		return *out ? 0 : -1;
	}
	if (gnutls_base64_decode2(&src, &dst) != 0)
		return -1;
	p = malloc(dst.size + 1);
	if (!p) {
		gnutls_free(dst.data);
		return -1;
	}
	memcpy(p, dst.data, dst.size);
	p[dst.size] = '\0';
	*out = p;
	*out_len = dst.size;
	gnutls_free(dst.data);
	return 0;
}

char *b64url_encode(const void *data, size_t len)
{
	char *s = b64_encode(data, len);
	size_t n;

	if (!s)
		return NULL;
	for (n = 0; s[n]; n++) {
		if (s[n] == '+')
			s[n] = '-';
		else if (s[n] == '/')
			s[n] = '_';
		else if (s[n] == '=') {
			s[n] = '\0';
			break;
		}
	}
	return s;
}

int b64url_decode(const char *in, size_t in_len, unsigned char **out, size_t *out_len)
{
	/* GnuTLS decodes only the standard alphabet with padding: translate first. */
	size_t padded = (in_len + 3) / 4 * 4, i;
	char *tmp;
	int rc;

	if (in_len % 4 == 1)
		return -1;
	tmp = malloc(padded + 1);
	if (!tmp)
		return -1;
	for (i = 0; i < in_len; i++) {
		char c = in[i];
		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		else if (c == '+' || c == '/' || c == '=') {
			free(tmp);
			return -1;
		}
		tmp[i] = c;
	}
	for (; i < padded; i++)
		tmp[i] = '=';
	tmp[padded] = '\0';
	rc = b64_decode(tmp, padded, out, out_len);
	free(tmp);
	return rc;
}

void hex_encode(const void *data, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * len] = '\0';
}

size_t format_decimal(long long v, char *out)
{
	/* The magnitude as unsigned, so that LLONG_MIN has one too. */
	unsigned long long m = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	char digits[20];
	size_t n = 0, len = 0;

	do {
		digits[n++] = (char)('0' + m % 10);
		m /= 10;
	} while (m);
	if (v < 0)
		out[len++] = '-';
	while (n)
		out[len++] = digits[--n];
	return len;
}

int sha256(const void *data, size_t len, uint8_t out[SHA256_LEN])
{
	return gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, out) == 0 ? 0 : -1;
}

int sha256_hex(const void *data, size_t len, char out[2 * SHA256_LEN + 1])
{
	uint8_t d[SHA256_LEN];

	if (sha256(data, len, d) != 0)
		return -1;
	hex_encode(d, sizeof d, out);
	return 0;
}

int random_bytes(void *out, size_t len)
{
	return gnutls_rnd(GNUTLS_RND_KEY, out, len) == 0 ? 0 : -1;
}

char *random_token(size_t n)
{
	unsigned char raw[128];

	if (n > sizeof raw || random_bytes(raw, n) != 0)
		return NULL;
	return b64url_encode(raw, n);
}
