/* Base64, base64url, hex and SHA-256 helpers on top of GnuTLS (which does the real work:
 * nothing here re-implements an encoding or a hash). */
#ifndef PERISCOPE_ENCODING_H
#define PERISCOPE_ENCODING_H

#include <stddef.h>
#include <stdint.h>

/* Standard base64 with padding. Returns a malloc'd NUL-terminated string or NULL. */
char *b64_encode(const void *data, size_t len);
/* Decodes standard padded base64. Returns 0 and a malloc'd buffer (NUL-terminated for
 * convenience; *out_len excludes the NUL), or -1 on malformed input. */
int b64_decode(const char *in, size_t in_len, unsigned char **out, size_t *out_len);
/* base64url without padding (JWT, PKCE, cookies). */
char *b64url_encode(const void *data, size_t len);
int b64url_decode(const char *in, size_t in_len, unsigned char **out, size_t *out_len);

/* Lower-case hex; out must hold 2*len+1 bytes. */
void hex_encode(const void *data, size_t len, char *out);
/* v in decimal, as "%lld" writes it, into out (at least 21 bytes; no NUL). Returns the length.
 * For hot paths, where snprintf costs ~1,000 instructions a call. */
size_t format_decimal(long long v, char *out);

#define SHA256_LEN 32
/* SHA-256 of data; returns 0 or -1. */
int sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);
/* Lower-case hex SHA-256; out must hold 65 bytes. */
int sha256_hex(const void *data, size_t len, char out[2 * SHA256_LEN + 1]);

/* Cryptographically strong random bytes (gnutls_rnd with GNUTLS_RND_KEY). 0 or -1. */
int random_bytes(void *out, size_t len);
/* n random bytes as base64url (a cookie value, a state, a PKCE verifier). */
char *random_token(size_t n);

#endif
