/* KMS GenerateDataKey for KMS-encrypted Session Manager sessions (ssm-protocol.md §C.7,
 * §D.8), JSON 1.1 (X-Amz-Target: TrentService.GenerateDataKey, SigV4 service "kms"),
 * signed with the operator's own credentials like every node-shell call. */
#ifndef PERISCOPE_KMS_H
#define PERISCOPE_KMS_H

#include <stddef.h>
#include <stdint.h>

#include "aws/ssm_api.h"
#include "aws/ssm_cipher.h"

#define KMS_JSON_MAX_BYTES (64 * 1024)

/* "https://kms.<region>.amazonaws.com" (".cn" in cn-* regions). 0 or -1. */
int kms_default_endpoint(const char *region, char *out, size_t outlen);

/* The request body: {"KeyId":…,"NumberOfBytes":64,"EncryptionContext":{"aws:ssm:SessionId":…,
 * "aws:ssm:TargetId":…[,"aws:ssm:RandomChallenge":…]}}, the context the agent decrypts
 * with (agent/session/crypto/blockcipher.go UpdateEncryptionKey). challenge NULL or "":
 * none. malloc'd, or NULL. */
char *kms_generate_data_key_body(const char *key_id, const char *session_id,
				 const char *target_id, const char *challenge);

/* The answer: Plaintext (base64 of exactly 64 bytes) into key, CiphertextBlob (base64, as
 * sent) into *ciphertext_b64 (malloc'd). 0, or -1 with err (never the key). */
int kms_parse_generate_data_key(const char *json, size_t len,
				uint8_t key[SSM_KMS_DATA_KEY_LEN], char **ciphertext_b64,
				char *err, size_t errlen);

/* The call, through aws_json_call (retries and clock as for SSM). c->endpoint is KMS's. */
int kms_generate_data_key(const struct ssm_client *c, const char *key_id,
			  const char *session_id, const char *target_id, const char *challenge,
			  uint8_t key[SSM_KMS_DATA_KEY_LEN], char **ciphertext_b64,
			  struct aws_error *aerr, char *err, size_t errlen);

#endif
