#include "agent/ssh_pubkey.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/encoding.h"

/* The key types an agent may use and the size of their key data (RFC 8709 for Ed25519:
 * string "ssh-ed25519", string key(32); RFC 5656 for ECDSA: string type, string
 * "nistp256", string Q (65 bytes, uncompressed point)). */
struct key_type {
	const char *name;
	const char *curve;      /* ECDSA's second string, or NULL */
	size_t key_len;
};

static const struct key_type key_types[] = {
	{ "ssh-ed25519", NULL, 32 },
	{ "ecdsa-sha2-nistp256", "nistp256", 65 },
};

/* Reads one SSH "string" (uint32 length, then the bytes) at *pos. 0 or -1. */
static int read_string(const unsigned char *blob, size_t len, size_t *pos,
		       const unsigned char **s, size_t *slen)
{
	uint32_t n;

	if (len - *pos < 4)
		return -1;
	n = (uint32_t)blob[*pos] << 24 | (uint32_t)blob[*pos + 1] << 16 |
	    (uint32_t)blob[*pos + 2] << 8 | (uint32_t)blob[*pos + 3];
	*pos += 4;
	if (n > len - *pos)
		return -1;
	*s = blob + *pos;
	*slen = n;
	*pos += n;
	return 0;
}

static int string_is(const unsigned char *s, size_t slen, const char *want)
{
	return slen == strlen(want) && memcmp(s, want, slen) == 0;
}

/* The blob must say type t, carry exactly its key and nothing after. */
static int blob_matches(const unsigned char *blob, size_t len, const struct key_type *t)
{
	const unsigned char *s;
	size_t slen, pos = 0;

	if (read_string(blob, len, &pos, &s, &slen) != 0 || !string_is(s, slen, t->name))
		return -1;
	if (t->curve && (read_string(blob, len, &pos, &s, &slen) != 0 ||
			 !string_is(s, slen, t->curve)))
		return -1;
	if (read_string(blob, len, &pos, &s, &slen) != 0 || slen != t->key_len)
		return -1;
	if (t->curve && s[0] != 0x04)
		return -1;
	return pos == len ? 0 : -1;
}

int ssh_pubkey_parse(const char *text, struct ssh_pubkey *out, char *err, size_t errlen)
{
	const struct key_type *type = NULL;
	unsigned char *blob = NULL;
	size_t blob_len = 0, type_len, b64_len;
	const char *b64, *end;
	uint8_t digest[SHA256_LEN];
	char *fp = NULL;
	int rc = -1;

	memset(out, 0, sizeof *out);
	if (!text || strlen(text) >= SSH_PUBKEY_LINE_MAX) {
		snprintf(err, errlen, "the public key is missing or too long");
		goto fail;
	}
	for (const char *p = text; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == '"' || *p == 0x7f) {
			snprintf(err, errlen, "the public key has control characters or quotes");
			goto fail;
		}
	}
	type_len = strcspn(text, " ");
	for (size_t i = 0; i < sizeof key_types / sizeof key_types[0]; i++)
		if (type_len == strlen(key_types[i].name) &&
		    strncmp(text, key_types[i].name, type_len) == 0)
			type = &key_types[i];
	if (!type || text[type_len] != ' ') {
		snprintf(err, errlen, "the public key is not of type ssh-ed25519 or ecdsa-sha2-nistp256");
		goto fail;
	}
	b64 = text + type_len + 1;
	b64_len = strcspn(b64, " ");
	end = b64 + b64_len;
	if (b64_len == 0 || (*end && *end != ' ') ||
	    b64_decode(b64, b64_len, &blob, &blob_len) != 0 ||
	    blob_matches(blob, blob_len, type) != 0) {
		snprintf(err, errlen, "the public key's data is not a well-formed %s key", type->name);
		goto fail;
	}
	if (sha256(blob, blob_len, digest) != 0 || !(fp = b64_encode(digest, sizeof digest))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* ssh-keygen prints the base64 digest without its padding. */
	fp[strcspn(fp, "=")] = '\0';
	snprintf(out->fingerprint, sizeof out->fingerprint, "SHA256:%s", fp);
	snprintf(out->line, sizeof out->line, "%s %.*s", type->name, (int)b64_len, b64);
	rc = 0;
fail:
	free(blob);
	free(fp);
	return rc;
}
