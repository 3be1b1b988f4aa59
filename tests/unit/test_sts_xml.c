/* STS AssumeRoleWithWebIdentity: answer parsing (ssm-protocol.md §B.3/§B.4 fixtures),
 * hostile XML, the request body and the RoleSessionName rule. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "aws/sts.h"
#include "aws/sts_xml.h"
#include "unit.h"

/* The AWS answers recorded under tests/unit/data/aws/. */
static char *fixture(const char *name, size_t *len)
{
	char path[256];

	snprintf(path, sizeof path, "aws/%s", name);
	return unit_fixture(path, len);
}

START_TEST(success_answer_gives_credentials_and_identity)
{
	size_t len;
	char *xml = fixture("sts_success.xml", &len), err[256] = "";
	struct sts_assumed_role r;

	ck_assert_int_eq(sts_parse_assume_role_response(xml, len, &r, err, sizeof err), 0);
	ck_assert_str_eq(r.creds.access_key_id, "ASIAIOSFODNN7EXAMPLE");
	ck_assert_str_eq(r.creds.secret_access_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
	/* &amp; is decoded. */
	ck_assert_str_eq(r.creds.session_token, "AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE&token");
	ck_assert_str_eq(r.expiration, "2024-01-01T12:00:00Z");
	ck_assert_int_eq(r.expiration_unix, 1704110400LL);
	ck_assert_str_eq(r.assumed_role_arn,
			 "arn:aws:sts::123456789012:assumed-role/periscope-node-shell/periscope-auth0-69f5a1b2");
	ck_assert_str_eq(r.assumed_role_id, "AROACLKWSDQRAOEXAMPLE:periscope-auth0-69f5a1b2");
	ck_assert_str_eq(r.subject_from_web_identity_token, "auth0|69f5a1b2");
	ck_assert_str_eq(r.audience, "periscope-client");
	ck_assert_str_eq(r.provider, "https://idp.example.com/");
	sts_assumed_role_free(&r);
	ck_assert_ptr_null(r.creds.secret_access_key);
	free(xml);
}
END_TEST

START_TEST(error_answer_gives_code_and_message)
{
	size_t len;
	char *xml = fixture("sts_error.xml", &len);
	struct aws_error e = { .http_status = 400 };

	ck_assert_int_eq(sts_parse_error_response(xml, len, &e), 0);
	ck_assert_str_eq(e.code, "InvalidIdentityToken");
	ck_assert_ptr_nonnull(strstr(e.message, "Couldn't retrieve verification key"));
	ck_assert_int_eq(e.http_status, 400);
	free(xml);
	xml = fixture("sts_access_denied.xml", &len);
	ck_assert_int_eq(sts_parse_error_response(xml, len, &e), 0);
	ck_assert_str_eq(e.code, "AccessDenied");
	free(xml);
}
END_TEST

START_TEST(a_success_document_is_not_an_error_document)
{
	size_t len;
	char *xml = fixture("sts_success.xml", &len);
	struct aws_error e = { 0 };

	ck_assert_int_eq(sts_parse_error_response(xml, len, &e), -1);
	free(xml);
}
END_TEST

START_TEST(external_entity_is_refused)
{
	size_t len;
	char *xml = fixture("sts_xxe.xml", &len), err[256] = "";
	struct sts_assumed_role r;

	ck_assert_int_eq(sts_parse_assume_role_response(xml, len, &r, err, sizeof err), -1);
	ck_assert_ptr_null(strstr(err, "root:"));
	ck_assert_ptr_null(r.creds.session_token);
	free(xml);
}
END_TEST

START_TEST(billion_laughs_is_refused_quickly)
{
	size_t len;
	char *xml = fixture("sts_billion_laughs.xml", &len);
	struct aws_error e = { 0 };
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	ck_assert_int_eq(sts_parse_error_response(xml, len, &e), -1);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ck_assert_int_lt(b.tv_sec - a.tv_sec, 2);
	ck_assert_str_eq(e.code, "");
	free(xml);
}
END_TEST

START_TEST(undeclared_entities_and_nested_markup_are_refused)
{
	static const char undeclared[] =
		"<ErrorResponse><Error><Code>&x;</Code></Error></ErrorResponse>";
	static const char nested[] =
		"<ErrorResponse><Error><Code><b>AccessDenied</b></Code></Error></ErrorResponse>";
	struct aws_error e = { 0 };

	ck_assert_int_eq(sts_parse_error_response(undeclared, strlen(undeclared), &e), -1);
	ck_assert_int_eq(sts_parse_error_response(nested, strlen(nested), &e), -1);
}
END_TEST

START_TEST(incomplete_credentials_are_an_error)
{
	static const char xml[] =
		"<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>"
		"<AccessKeyId>ASIA</AccessKeyId><SecretAccessKey>s3cr3t</SecretAccessKey>"
		"<Expiration>2024-01-01T12:00:00Z</Expiration>"
		"</Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>";
	struct sts_assumed_role r;
	char err[256] = "";

	ck_assert_int_eq(sts_parse_assume_role_response(xml, strlen(xml), &r, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "SessionToken"));
	ck_assert_ptr_null(strstr(err, "s3cr3t"));
	ck_assert_int_eq(sts_parse_assume_role_response("", 0, &r, err, sizeof err), -1);
	ck_assert_int_eq(sts_parse_assume_role_response("<a>", 3, &r, err, sizeof err), -1);
}
END_TEST

/* The credentials go into HTTP header lines: a line break would split the request. */
START_TEST(credentials_with_line_breaks_are_refused)
{
	static const char xml[] =
		"<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>"
		"<AccessKeyId>ASIA1</AccessKeyId><SecretAccessKey>s</SecretAccessKey>"
		"<SessionToken>abc&#13;&#10;X-Evil: 1</SessionToken>"
		"<Expiration>2024-01-01T12:00:00Z</Expiration>"
		"</Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>";
	struct sts_assumed_role r;
	char err[256] = "";

	ck_assert_int_eq(sts_parse_assume_role_response(xml, strlen(xml), &r, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "unexpected characters"));
}
END_TEST

START_TEST(request_body_is_encoded_like_botocore)
{
	struct sts_assume_request req = {
		.role_arn = "arn:aws:iam::123456789012:role/demo",
		.role_session_name = "sess",
		.web_identity_token = "eyJ.a.b",
	};
	char *body = sts_build_assume_body(&req);

	ck_assert_str_eq(body, "Action=AssumeRoleWithWebIdentity&Version=2011-06-15"
			       "&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fdemo"
			       "&RoleSessionName=sess&WebIdentityToken=eyJ.a.b");
	free(body);
	req.duration_seconds = 900;
	req.web_identity_token = "a+b/c=";
	body = sts_build_assume_body(&req);
	ck_assert_ptr_nonnull(strstr(body, "&WebIdentityToken=a%2Bb%2Fc%3D&DurationSeconds=900"));
	free(body);
	req.role_arn = NULL;
	ck_assert_ptr_null(sts_build_assume_body(&req));
}
END_TEST

START_TEST(session_name_follows_the_sanitize_rule)
{
	char out[STS_ROLE_SESSION_NAME_MAX + 1], x80[81];

	sts_sanitize_session_name("auth0|abc123", out);
	ck_assert_str_eq(out, "auth0-abc123");
	sts_sanitize_session_name("alice@corp.com", out);
	ck_assert_str_eq(out, "alice@corp.com");
	memset(x80, 'x', 80);
	x80[80] = '\0';
	sts_sanitize_session_name(x80, out);
	ck_assert_uint_eq(strlen(out), 64);
	ck_assert_int_eq(strspn(out, "x"), 64);
	sts_sanitize_session_name("", out);
	ck_assert_str_eq(out, "periscope-node-shell");
	/* One dash per character, not per byte: é is two bytes, 😀 four. */
	sts_sanitize_session_name("jos\xc3\xa9 \xf0\x9f\x98\x80+=,.@_-", out);
	ck_assert_str_eq(out, "jos---+=,.@_-");
	sts_role_session_name("auth0|69f5a1b2", out);
	ck_assert_str_eq(out, "periscope-auth0-69f5a1b2");
	sts_role_session_name(x80, out);
	ck_assert_uint_eq(strlen(out), 64);
	ck_assert_int_eq(strncmp(out, "periscope-xxxx", 14), 0);
}
END_TEST

START_TEST(default_endpoint_is_regional)
{
	char url[128];

	ck_assert_int_eq(sts_default_endpoint("eu-west-1", url, sizeof url), 0);
	ck_assert_str_eq(url, "https://sts.eu-west-1.amazonaws.com");
	ck_assert_int_eq(sts_default_endpoint("cn-north-1", url, sizeof url), 0);
	ck_assert_str_eq(url, "https://sts.cn-north-1.amazonaws.com.cn");
	ck_assert_int_eq(sts_default_endpoint("evil.com/x", url, sizeof url), -1);
	ck_assert_int_eq(sts_default_endpoint("", url, sizeof url), -1);
}
END_TEST

static Suite *sts_xml_suite(void)
{
	Suite *s = suite_create("sts_xml");
	TCase *t = tcase_create("sts_xml");

	tcase_add_test(t, success_answer_gives_credentials_and_identity);
	tcase_add_test(t, error_answer_gives_code_and_message);
	tcase_add_test(t, a_success_document_is_not_an_error_document);
	tcase_add_test(t, external_entity_is_refused);
	tcase_add_test(t, billion_laughs_is_refused_quickly);
	tcase_add_test(t, undeclared_entities_and_nested_markup_are_refused);
	tcase_add_test(t, incomplete_credentials_are_an_error);
	tcase_add_test(t, credentials_with_line_breaks_are_refused);
	tcase_add_test(t, request_body_is_encoded_like_botocore);
	tcase_add_test(t, session_name_follows_the_sanitize_rule);
	tcase_add_test(t, default_endpoint_is_regional);
	suite_add_tcase(s, t);
	return s;
}

UNIT_MAIN(sts_xml_suite)
