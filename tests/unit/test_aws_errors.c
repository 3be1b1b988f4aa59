/* AWS error codes -> the product's E_* codes and HTTP statuses. */
#include <string.h>

#include "aws/aws_errors.h"
#include "unit.h"

struct row {
	enum aws_operation op;
	const char *aws_code;
	long status;
	const char *want_code;
	int want_status;
	bool retryable;
};

static const struct row rows[] = {
	{ AWS_OP_STS_ASSUME_ROLE_WITH_WEB_IDENTITY, "AccessDenied", 403, "E_NODE_SHELL_TRUST_DENIED", 403, false },
	{ AWS_OP_STS_ASSUME_ROLE_WITH_WEB_IDENTITY, "InvalidIdentityToken", 400, "E_NODE_SHELL_TRUST_DENIED", 403, false },
	{ AWS_OP_STS_ASSUME_ROLE_WITH_WEB_IDENTITY, "ExpiredTokenException", 400, "E_NODE_SHELL_TRUST_DENIED", 403, false },
	{ AWS_OP_STS_ASSUME_ROLE_WITH_WEB_IDENTITY, "IDPRejectedClaim", 403, "E_NODE_SHELL_TRUST_DENIED", 403, false },
	{ AWS_OP_STS_ASSUME_ROLE_WITH_WEB_IDENTITY, "Throttling", 400, "E_AWS_THROTTLED", 429, true },
	{ AWS_OP_STS_ASSUME_ROLE_WITH_WEB_IDENTITY, "IDPCommunicationError", 400, "E_AWS_API", 502, true },
	{ AWS_OP_STS_ASSUME_ROLE_WITH_WEB_IDENTITY, "Transport", 0, "E_AWS_API", 502, true },
	{ AWS_OP_STS_ASSUME_ROLE_WITH_WEB_IDENTITY, "ServiceUnavailable", 503, "E_AWS_API", 502, true },
	{ AWS_OP_SSM_START_SESSION, "AccessDeniedException", 400, "E_AWS_FORBIDDEN", 403, false },
	{ AWS_OP_SSM_START_SESSION, "ExpiredTokenException", 400, "E_AWS_FORBIDDEN", 403, false },
	{ AWS_OP_SSM_START_SESSION, "UnrecognizedClientException", 400, "E_AWS_FORBIDDEN", 403, false },
	{ AWS_OP_SSM_START_SESSION, "ThrottlingException", 400, "E_AWS_THROTTLED", 429, true },
	{ AWS_OP_SSM_START_SESSION, "TargetNotConnected", 400, "E_NODE_SHELL_TARGET_NOT_CONNECTED", 409, false },
	{ AWS_OP_SSM_START_SESSION, "InvalidDocument", 400, "E_AWS_API", 502, false },
	{ AWS_OP_SSM_DESCRIBE_INSTANCE_INFORMATION, "InvalidInstanceId", 400, "E_AWS_NOT_FOUND", 404, false },
	{ AWS_OP_SSM_DESCRIBE_INSTANCE_INFORMATION, "InternalServerError", 500, "E_AWS_API", 502, true },
	{ AWS_OP_SSM_TERMINATE_SESSION, "DoesNotExistException", 400, "E_AWS_NOT_FOUND", 404, false },
	{ AWS_OP_SSM_TERMINATE_SESSION, "BadResponse", 200, "E_AWS_API", 502, false },
};

START_TEST(codes_map_to_product_errors)
{
	const struct row *r = &rows[_i];
	struct aws_error e;
	struct product_error p;

	aws_error_set(&e, r->aws_code, "m", r->status);
	p = aws_error_classify(r->op, &e);
	ck_assert_msg(!strcmp(p.code, r->want_code), "%s -> %s, want %s", r->aws_code, p.code,
		      r->want_code);
	ck_assert_int_eq(p.http_status, r->want_status);
	ck_assert_int_eq(p.retryable, r->retryable);
}
END_TEST

START_TEST(codes_are_normalised_and_formatted)
{
	char out[128];
	struct aws_error e;

	aws_error_normalize_code("com.amazonaws.ssm#TargetNotConnected", out, sizeof out);
	ck_assert_str_eq(out, "TargetNotConnected");
	aws_error_normalize_code("Foo:http://internal.amazon.com/coral/", out, sizeof out);
	ck_assert_str_eq(out, "Foo");
	aws_error_normalize_code("aws.protocoljson#Bar:http://x#y", out, sizeof out);
	ck_assert_str_eq(out, "Bar");
	aws_error_normalize_code("Plain", out, sizeof out);
	ck_assert_str_eq(out, "Plain");
	aws_error_set(&e, "AccessDenied", "Not authorized", 403);
	aws_error_format(&e, out, sizeof out);
	ck_assert_str_eq(out, "AccessDenied: Not authorized");
	aws_error_set(&e, "Transport", "", 0);
	aws_error_format(&e, out, sizeof out);
	ck_assert_str_eq(out, "Transport");
}
END_TEST

static Suite *aws_errors_suite(void)
{
	Suite *s = suite_create("aws_errors");
	TCase *t = tcase_create("aws_errors");

	tcase_add_loop_test(t, codes_map_to_product_errors, 0, (int)(sizeof rows / sizeof rows[0]));
	tcase_add_test(t, codes_are_normalised_and_formatted);
	suite_add_tcase(s, t);
	return s;
}

UNIT_MAIN(aws_errors_suite)
