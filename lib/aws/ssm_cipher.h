/* The payload cipher of a KMS-encrypted Session Manager session (ssm-protocol.md §D.8):
 * AES-256-GCM, a 12-byte nonce in front, the 16-byte tag behind, no additional data, with
 * the two halves of the 64-byte KMS data key. The agent encrypts with the first half and
 * decrypts with the second (amazon-ssm-agent agent/session/crypto/blockcipher.go
 * UpdateEncryptionKey, EncryptWithAESGCM, DecryptWithAESGCM), so a client decrypts with the
 * first and encrypts with the second. GnuTLS does the cryptography. */
#ifndef PERISCOPE_SSM_CIPHER_H
#define PERISCOPE_SSM_CIPHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SSM_KMS_DATA_KEY_LEN 64
#define SSM_GCM_NONCE_LEN 12
#define SSM_GCM_TAG_LEN 16
#define SSM_GCM_OVERHEAD (SSM_GCM_NONCE_LEN + SSM_GCM_TAG_LEN)

struct ssm_cipher {
	void *enc, *dec;   /* gnutls_aead_cipher_hd_t */
	bool on;
};

/* Keys from the KMS plaintext data key; 0 or -1. The key bytes are not kept. */
int ssm_cipher_init(struct ssm_cipher *c, const uint8_t key[SSM_KMS_DATA_KEY_LEN]);
void ssm_cipher_free(struct ssm_cipher *c);

/* nonce || ciphertext || tag of in, into out (cap >= len + SSM_GCM_OVERHEAD). 0 or -1. */
int ssm_cipher_encrypt(struct ssm_cipher *c, const uint8_t *in, size_t len, uint8_t *out,
		       size_t cap, size_t *out_len);
/* The inverse; -1 when the input is short, or was not encrypted with the peer's key (a
 * plaintext payload in an encrypted session fails here). */
int ssm_cipher_decrypt(struct ssm_cipher *c, const uint8_t *in, size_t len, uint8_t *out,
		       size_t cap, size_t *out_len);

#endif
