/* libFuzzer target: SSM JSON 1.1 answers through lib/aws/ssm_json.c. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "aws/kms.h"
#include "aws/ssm_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *json = (const char *)data;
	struct ssm_started_session s;
	struct ssm_instance_info i;
	struct aws_error e;
	char err[256], *id = NULL;

	if (ssm_parse_start_session(json, size, &s, err, sizeof err) == 0)
		ssm_started_session_free(&s);
	if (ssm_parse_resume_session(json, size, &s, err, sizeof err) == 0)
		ssm_started_session_free(&s);
	if (ssm_parse_describe_instance(json, size, &i, err, sizeof err) == 0)
		ssm_instance_info_free(&i);
	if (ssm_parse_terminate_session(json, size, &id, err, sizeof err) == 0)
		free(id);
	{
		uint8_t key[SSM_KMS_DATA_KEY_LEN];
		char *blob = NULL;

		if (kms_parse_generate_data_key(json, size, key, &blob, err, sizeof err) == 0)
			free(blob);
	}
	ssm_parse_error(json, size, "Fallback:http://x", 400, &e);
	return 0;
}
