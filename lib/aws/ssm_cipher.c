#include "aws/ssm_cipher.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <string.h>

#include "core/encoding.h"

static int open_key(void **hd, const uint8_t *key)
{
	gnutls_datum_t k = { (unsigned char *)key, 32 };
	gnutls_aead_cipher_hd_t h;

	if (gnutls_aead_cipher_init(&h, GNUTLS_CIPHER_AES_256_GCM, &k) < 0)
		return -1;
	*hd = h;
	return 0;
}

int ssm_cipher_init(struct ssm_cipher *c, const uint8_t key[SSM_KMS_DATA_KEY_LEN])
{
	memset(c, 0, sizeof *c);
	if (open_key(&c->dec, key) != 0 || open_key(&c->enc, key + 32) != 0) {
		ssm_cipher_free(c);
		return -1;
	}
	c->on = true;
	return 0;
}

void ssm_cipher_free(struct ssm_cipher *c)
{
	if (c->enc)
		gnutls_aead_cipher_deinit(c->enc);
	if (c->dec)
		gnutls_aead_cipher_deinit(c->dec);
	memset(c, 0, sizeof *c);
}

int ssm_cipher_encrypt(struct ssm_cipher *c, const uint8_t *in, size_t len, uint8_t *out,
		       size_t cap, size_t *out_len)
{
	size_t n = cap - SSM_GCM_NONCE_LEN;

	if (!c->on || cap < len + SSM_GCM_OVERHEAD ||
	    random_bytes(out, SSM_GCM_NONCE_LEN) != 0 ||
	    gnutls_aead_cipher_encrypt(c->enc, out, SSM_GCM_NONCE_LEN, NULL, 0, SSM_GCM_TAG_LEN,
				       in, len, out + SSM_GCM_NONCE_LEN, &n) < 0)
		return -1;
	*out_len = SSM_GCM_NONCE_LEN + n;
	return 0;
}

int ssm_cipher_decrypt(struct ssm_cipher *c, const uint8_t *in, size_t len, uint8_t *out,
		       size_t cap, size_t *out_len)
{
	size_t n = cap;

	if (!c->on || len < SSM_GCM_OVERHEAD ||
	    gnutls_aead_cipher_decrypt(c->dec, in, SSM_GCM_NONCE_LEN, NULL, 0, SSM_GCM_TAG_LEN,
				       in + SSM_GCM_NONCE_LEN, len - SSM_GCM_NONCE_LEN, out,
				       &n) < 0)
		return -1;
	*out_len = n;
	return 0;
}
