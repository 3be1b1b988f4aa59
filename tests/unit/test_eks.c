#include <string.h>

#include "aws/eks_api.h"
#include "aws/eks_token.h"
#include "core/encoding.h"
#include "unit.h"

/* 2026-12-06T21:00:00Z */
#define FIXED_NOW 1796590800

START_TEST(eks_token_is_a_presigned_get_caller_identity_url)
{
	struct aws_credentials c = { "ASIAEXAMPLE0000", "secret", "session-token" };
	unsigned char *url = NULL;
	size_t n = 0;
	char *tok = NULL, err[256];

	ck_assert_int_eq(eks_token_build(&c, "https://sts.eu-west-1.amazonaws.com", "eu-west-1",
					 "prod-eu", FIXED_NOW, &tok, err, sizeof err), 0);
	ck_assert_ptr_nonnull(tok);
	ck_assert_int_eq(strncmp(tok, "k8s-aws-v1.", 11), 0);
	ck_assert_ptr_null(strchr(tok, '='));
	ck_assert_int_eq(b64url_decode(tok + 11, strlen(tok + 11), &url, &n), 0);
	url = realloc(url, n + 1);
	ck_assert_ptr_nonnull(url);
	url[n] = '\0';
	{
		static const char start[] = "https://sts.eu-west-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&";
		ck_assert_int_eq(strncmp((char *)url, start, sizeof start - 1), 0);
	}
	ck_assert_ptr_nonnull(strstr((char *)url, "&X-Amz-Expires=60&"));
	ck_assert_ptr_nonnull(strstr((char *)url, "&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&"));
	ck_assert_ptr_nonnull(strstr((char *)url, "X-Amz-Credential=ASIAEXAMPLE0000%2F20261206%2Feu-west-1%2Fsts%2Faws4_request"));
	ck_assert_ptr_nonnull(strstr((char *)url, "X-Amz-Date=20261206T210000Z"));
	ck_assert_ptr_nonnull(strstr((char *)url, "X-Amz-Security-Token=session-token"));
	ck_assert_ptr_nonnull(strstr((char *)url, "&X-Amz-Signature="));
	free(url);
	free(tok);
}
END_TEST

START_TEST(describe_cluster_answer_gives_endpoint_and_ca)
{
	static const char ok[] = "{\"cluster\":{\"endpoint\":\"https://ABC.gr7.eu-west-1.eks.amazonaws.com\","
				 "\"certificateAuthority\":{\"data\":\"LS0t\"},\"status\":\"ACTIVE\"}}";
	static const char creating[] = "{\"cluster\":{\"status\":\"CREATING\"}}";
	struct eks_cluster_info i;
	char err[256];

	ck_assert_int_eq(eks_parse_describe_cluster(ok, strlen(ok), &i, err, sizeof err), 0);
	ck_assert_str_eq(i.endpoint, "https://ABC.gr7.eu-west-1.eks.amazonaws.com");
	ck_assert_str_eq(i.ca_data, "LS0t");
	eks_cluster_info_clear(&i);
	ck_assert_int_eq(eks_parse_describe_cluster(creating, strlen(creating), &i, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "CREATING"));
	ck_assert_int_eq(eks_parse_describe_cluster("nope", 4, &i, err, sizeof err), -1);
}
END_TEST

static Suite *eks_suite(void)
{
	Suite *s = suite_create("eks");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, eks_token_is_a_presigned_get_caller_identity_url);
	tcase_add_test(tc, describe_cluster_answer_gives_endpoint_and_ca);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(eks_suite)
