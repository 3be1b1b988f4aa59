#include "aws/kms.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/encoding.h"

int kms_default_endpoint(const char *region, char *out, size_t outlen)
{
	int n;

	if (!region || !*region ||
	    strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(region))
		return -1;
	n = snprintf(out, outlen, "https://kms.%s.amazonaws.com%s", region,
		     !strncmp(region, "cn-", 3) ? ".cn" : "");
	return n > 0 && (size_t)n < outlen ? 0 : -1;
}

char *kms_generate_data_key_body(const char *key_id, const char *session_id,
				 const char *target_id, const char *challenge)
{
	json_t *ctx, *root;
	char *out = NULL;

	if (!key_id || !*key_id || !session_id || !target_id)
		return NULL;
	ctx = json_pack("{s:s,s:s}", "aws:ssm:SessionId", session_id, "aws:ssm:TargetId",
			target_id);
	if (ctx && challenge && *challenge &&
	    json_object_set_new(ctx, "aws:ssm:RandomChallenge", json_string(challenge)) != 0) {
		json_decref(ctx);
		return NULL;
	}
	root = ctx ? json_pack("{s:s,s:i,s:o}", "KeyId", key_id, "NumberOfBytes",
			       SSM_KMS_DATA_KEY_LEN, "EncryptionContext", ctx)
		   : NULL;
	if (root)
		out = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return out;
}

int kms_parse_generate_data_key(const char *json, size_t len,
				uint8_t key[SSM_KMS_DATA_KEY_LEN], char **ciphertext_b64,
				char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	const char *blob, *plain;
	unsigned char *raw = NULL, *rawblob = NULL;
	size_t n = 0, nb = 0;
	int rc = -1;

	*ciphertext_b64 = NULL;
	if (!json_is_object(root)) {
		snprintf(err, errlen, "GenerateDataKey answer is not a JSON object");
		goto done;
	}
	blob = json_string_value(json_object_get(root, "CiphertextBlob"));
	plain = json_string_value(json_object_get(root, "Plaintext"));
	if (!blob || !plain || b64_decode(blob, strlen(blob), &rawblob, &nb) != 0 || nb == 0 ||
	    b64_decode(plain, strlen(plain), &raw, &n) != 0) {
		snprintf(err, errlen, "GenerateDataKey answer lacks a base64 CiphertextBlob or Plaintext");
		goto done;
	}
	if (n != SSM_KMS_DATA_KEY_LEN) {
		snprintf(err, errlen, "GenerateDataKey gave a %zu-byte key, not %d", n,
			 SSM_KMS_DATA_KEY_LEN);
		goto done;
	}
	if (!(*ciphertext_b64 = strdup(blob))) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	memcpy(key, raw, n);
	rc = 0;
done:
	if (raw) {
		explicit_bzero(raw, n);
		free(raw);
	}
	free(rawblob);
	if (root) {
		/* The JSON held the plaintext key. */
		json_t *p = json_object_get(root, "Plaintext");
		if (json_is_string(p))
			explicit_bzero((char *)json_string_value(p), json_string_length(p));
	}
	json_decref(root);
	return rc;
}

int kms_generate_data_key(const struct ssm_client *c, const char *key_id,
			  const char *session_id, const char *target_id, const char *challenge,
			  uint8_t key[SSM_KMS_DATA_KEY_LEN], char **ciphertext_b64,
			  struct aws_error *aerr, char *err, size_t errlen)
{
	char *body = kms_generate_data_key_body(key_id, session_id, target_id, challenge);
	char *answer = NULL, msg[256], line[700];
	size_t len = 0;
	int rc = -1;

	*ciphertext_b64 = NULL;
	aws_error_set(aerr, "", "", 0);
	if (!body) {
		aws_error_set(aerr, "InvalidParameter", "missing or invalid argument", 0);
		goto fail;
	}
	if (aws_json_call(c, "kms", "TrentService.GenerateDataKey", body, &answer, &len, aerr) != 0)
		goto fail;
	if (kms_parse_generate_data_key(answer, len, key, ciphertext_b64, msg, sizeof msg) != 0) {
		aws_error_set(aerr, AWS_ERR_BAD_RESPONSE, msg, 200);
		goto fail;
	}
	rc = 0;
	goto done;
fail:
	aws_error_format(aerr, line, sizeof line);
	if (err && errlen)
		snprintf(err, errlen, "KMS GenerateDataKey: %s", line);
done:
	if (answer) {
		explicit_bzero(answer, len);
		free(answer);
	}
	free(body);
	return rc;
}
