#include "auth/token_box.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdlib.h>
#include <string.h>

#include "core/encoding.h"

#define NONCE_LEN 12
#define TAG_LEN 16
static const char key_label[] = "periscope login-session token key v1";

int session_id_hash(const char *cookie, char id_hash[SESSION_ID_HASH_LEN + 1])
{
	return sha256_hex(cookie, strlen(cookie), id_hash);
}

static int open_cipher(const char *cookie, gnutls_aead_cipher_hd_t *h)
{
	unsigned char key[32];
	gnutls_datum_t k = { key, sizeof key };
	int rc;

	if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, cookie, strlen(cookie), key_label,
			     sizeof key_label - 1, key) != 0)
		return -1;
	rc = gnutls_aead_cipher_init(h, GNUTLS_CIPHER_AES_256_GCM, &k);
	gnutls_memset(key, 0, sizeof key);
	return rc == 0 ? 0 : -1;
}

int token_box_seal(const char *cookie, const char *plaintext, size_t len,
		   unsigned char **sealed, size_t *sealed_len)
{
	gnutls_aead_cipher_hd_t h = NULL;
	char aad[SESSION_ID_HASH_LEN + 1];
	unsigned char *out = NULL;
	size_t ct_len = len + TAG_LEN;

	*sealed = NULL;
	if (session_id_hash(cookie, aad) != 0 || open_cipher(cookie, &h) != 0)
		goto fail;
	out = malloc(NONCE_LEN + ct_len);
	if (!out || gnutls_rnd(GNUTLS_RND_NONCE, out, NONCE_LEN) != 0)
		goto fail;
	if (gnutls_aead_cipher_encrypt(h, out, NONCE_LEN, aad, SESSION_ID_HASH_LEN, TAG_LEN,
				       plaintext, len, out + NONCE_LEN, &ct_len) != 0)
		goto fail;
	gnutls_aead_cipher_deinit(h);
	*sealed = out;
	*sealed_len = NONCE_LEN + ct_len;
	return 0;
fail:
	if (h)
		gnutls_aead_cipher_deinit(h);
	free(out);
	return -1;
}

int token_box_open(const char *cookie, const unsigned char *sealed, size_t sealed_len,
		   char **plaintext, size_t *len)
{
	gnutls_aead_cipher_hd_t h = NULL;
	char aad[SESSION_ID_HASH_LEN + 1];
	char *out = NULL;
	size_t pt_len;

	*plaintext = NULL;
	if (sealed_len < NONCE_LEN + TAG_LEN)
		return -1;
	pt_len = sealed_len - NONCE_LEN;
	if (session_id_hash(cookie, aad) != 0 || open_cipher(cookie, &h) != 0)
		goto fail;
	out = malloc(pt_len + 1);
	if (!out)
		goto fail;
	if (gnutls_aead_cipher_decrypt(h, sealed, NONCE_LEN, aad, SESSION_ID_HASH_LEN, TAG_LEN,
				       sealed + NONCE_LEN, sealed_len - NONCE_LEN, out,
				       &pt_len) != 0)
		goto fail;
	gnutls_aead_cipher_deinit(h);
	out[pt_len] = '\0';
	*plaintext = out;
	*len = pt_len;
	return 0;
fail:
	if (h)
		gnutls_aead_cipher_deinit(h);
	free(out);
	return -1;
}
