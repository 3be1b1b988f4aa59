/* Seals the OIDC tokens of a login session with a key derived from the session cookie,
 * which only the browser holds. The database stores SHA-256(cookie) as the session id and
 * the sealed tokens, so a copy of the database gives an attacker no usable token. */
#ifndef PERISCOPE_TOKEN_BOX_H
#define PERISCOPE_TOKEN_BOX_H

#include <stddef.h>

#define SESSION_ID_HASH_LEN 64   /* hex SHA-256 */

/* id_hash (65 bytes) = hex SHA-256 of the cookie value. */
int session_id_hash(const char *cookie, char id_hash[SESSION_ID_HASH_LEN + 1]);
/* AES-256-GCM, key = HMAC-SHA256(cookie, label), fresh 96-bit nonce, the id hash as
 * associated data. *sealed is malloc'd: nonce || ciphertext || tag. */
int token_box_seal(const char *cookie, const char *plaintext, size_t len,
		   unsigned char **sealed, size_t *sealed_len);
/* Opens what token_box_seal made; *plaintext is malloc'd and NUL-terminated.
 * -1 when the cookie is not the one that sealed it or the data was altered. */
int token_box_open(const char *cookie, const unsigned char *sealed, size_t sealed_len,
		   char **plaintext, size_t *len);

#endif
