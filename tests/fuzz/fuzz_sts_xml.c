/* libFuzzer target: STS answers (success and error documents) through lib/aws/sts_xml.c. */
#include <stddef.h>
#include <stdint.h>

#include "aws/sts_xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sts_assumed_role r;
	struct aws_error e = { .http_status = 400 };
	char err[256];

	if (sts_parse_assume_role_response((const char *)data, size, &r, err, sizeof err) == 0)
		sts_assumed_role_free(&r);
	sts_parse_error_response((const char *)data, size, &e);
	return 0;
}
