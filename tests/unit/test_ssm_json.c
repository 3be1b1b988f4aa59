/* SSM JSON 1.1 bodies and answers (ssm-protocol.md §C fixtures). */
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "aws/ssm_json.h"
#include "unit.h"

/* The AWS answers recorded under tests/unit/data/aws/. */
static char *fixture(const char *name, size_t *len)
{
	char path[256];

	snprintf(path, sizeof path, "aws/%s", name);
	return unit_fixture(path, len);
}

START_TEST(request_bodies_are_compact_model_json)
{
	char *b = ssm_start_session_body("i-0123456789abcdef0", NULL, NULL);

	ck_assert_str_eq(b, "{\"Target\":\"i-0123456789abcdef0\"}");
	free(b);
	b = ssm_start_session_body("i-0123456789abcdef0", "SSM-SessionManagerRunShell",
				   "periscope cluster=prod node=ip-10-0-1-23 actor=\"alice\"");
	ck_assert_str_eq(b, "{\"Target\":\"i-0123456789abcdef0\",\"DocumentName\":"
			    "\"SSM-SessionManagerRunShell\",\"Reason\":\"periscope cluster=prod "
			    "node=ip-10-0-1-23 actor=\\\"alice\\\"\"}");
	free(b);
	b = ssm_terminate_session_body("alice-0a1b");
	ck_assert_str_eq(b, "{\"SessionId\":\"alice-0a1b\"}");
	free(b);
	b = ssm_describe_instance_body("i-0123456789abcdef0");
	ck_assert_str_eq(b, "{\"Filters\":[{\"Key\":\"InstanceIds\",\"Values\":"
			    "[\"i-0123456789abcdef0\"]}]}");
	free(b);
	ck_assert_ptr_null(ssm_start_session_body("", NULL, NULL));
	ck_assert_ptr_null(ssm_describe_instance_body(NULL));
	/* Invalid UTF-8 cannot become a JSON string. */
	ck_assert_ptr_null(ssm_terminate_session_body("\xff\xfe"));
}
END_TEST

START_TEST(start_session_answer_is_parsed_and_unknown_members_ignored)
{
	size_t len;
	char *json = fixture("ssm_start_session.json", &len), err[256] = "";
	struct ssm_started_session s;

	ck_assert_int_eq(ssm_parse_start_session(json, len, &s, err, sizeof err), 0);
	ck_assert_str_eq(s.session_id, "periscope-auth0-69f5a1b2-0a1b2c3d4e5f6a7b8");
	ck_assert_str_eq(s.token_value, "AAEAAU9EXAMPLEtokenvalue");
	ck_assert_ptr_nonnull(strstr(s.stream_url, "wss://ssmmessages.us-east-1.amazonaws.com/v1/data-channel/"));
	ssm_started_session_free(&s);
	free(json);
}
END_TEST

START_TEST(resume_session_answer_new_token_or_gone)
{
	static const char ok[] = "{\"SessionId\":\"s-1\",\"TokenValue\":\"NEWTOKEN\","
				 "\"StreamUrl\":\"wss://h/v1/data-channel/s-1?cell-number=a+b/c=\"}";
	static const char gone[] = "{\"SessionId\":\"s-1\"}";
	static const char no_url[] = "{\"SessionId\":\"s\",\"TokenValue\":\"SECRETTOKEN\"}";
	static const char bad_type[] = "{\"SessionId\":\"s\",\"TokenValue\":7}";
	struct ssm_started_session s;
	char err[256] = "";

	ck_assert_int_eq(ssm_parse_resume_session(ok, strlen(ok), &s, err, sizeof err), 0);
	ck_assert_str_eq(s.token_value, "NEWTOKEN");
	ck_assert_str_eq(s.stream_url, "wss://h/v1/data-channel/s-1?cell-number=a+b/c=");
	ssm_started_session_free(&s);
	/* No token: the session timed out; an answer, not an error. */
	ck_assert_int_eq(ssm_parse_resume_session(gone, strlen(gone), &s, err, sizeof err), 0);
	ck_assert_str_eq(s.token_value, "");
	ssm_started_session_free(&s);
	ck_assert_int_eq(ssm_parse_resume_session(no_url, strlen(no_url), &s, err, sizeof err), -1);
	ck_assert_ptr_null(strstr(err, "SECRETTOKEN"));
	ck_assert_int_eq(ssm_parse_resume_session(bad_type, strlen(bad_type), &s, err, sizeof err), -1);
	ck_assert_int_eq(ssm_parse_resume_session("null", 4, &s, err, sizeof err), -1);
}
END_TEST

START_TEST(incomplete_start_session_answer_is_an_error)
{
	static const char no_url[] = "{\"SessionId\":\"s\",\"TokenValue\":\"SECRETTOKEN\"}";
	static const char bad_type[] = "{\"SessionId\":1,\"TokenValue\":\"t\",\"StreamUrl\":\"u\"}";
	struct ssm_started_session s;
	char err[256] = "";

	ck_assert_int_eq(ssm_parse_start_session(no_url, strlen(no_url), &s, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "incomplete"));
	ck_assert_ptr_null(strstr(err, "SECRETTOKEN"));
	ck_assert_ptr_null(s.token_value);
	ck_assert_int_eq(ssm_parse_start_session(bad_type, strlen(bad_type), &s, err, sizeof err), -1);
	ck_assert_int_eq(ssm_parse_start_session("[1]", 3, &s, err, sizeof err), -1);
	ck_assert_int_eq(ssm_parse_start_session("{", 1, &s, err, sizeof err), -1);
}
END_TEST

START_TEST(describe_answer_gives_first_instance)
{
	size_t len;
	char *json = fixture("ssm_describe.json", &len), err[256] = "";
	struct ssm_instance_info i;

	ck_assert_int_eq(ssm_parse_describe_instance(json, len, &i, err, sizeof err), 0);
	ck_assert(i.found);
	ck_assert(ssm_instance_online(&i));
	ck_assert_str_eq(i.instance_id, "i-0123456789abcdef0");
	ck_assert_str_eq(i.ping_status, "Online");
	ck_assert_str_eq(i.platform_type, "Linux");
	ck_assert_str_eq(i.platform_name, "Amazon Linux");
	ck_assert_str_eq(i.platform_version, "2023");
	ck_assert_str_eq(i.agent_version, "3.3.40.0");
	ck_assert_str_eq(i.ip_address, "10.0.1.23");
	ck_assert_str_eq(i.resource_type, "EC2Instance");
	ck_assert(!i.is_latest_version);
	ck_assert_double_eq_tol(i.last_ping_date_time, 1700000000.123, 0.001);
	ssm_instance_info_free(&i);
	free(json);
}
END_TEST

START_TEST(describe_empty_list_is_not_registered_and_not_an_error)
{
	size_t len;
	char *json = fixture("ssm_describe_empty.json", &len), err[256] = "";
	struct ssm_instance_info i;

	ck_assert_int_eq(ssm_parse_describe_instance(json, len, &i, err, sizeof err), 0);
	ck_assert(!i.found);
	ck_assert(!ssm_instance_online(&i));
	ck_assert_str_eq(i.ping_status, "");
	ssm_instance_info_free(&i);
	free(json);
	ck_assert_int_eq(ssm_parse_describe_instance("{}", 2, &i, err, sizeof err), 0);
	ck_assert(!i.found);
	ssm_instance_info_free(&i);
}
END_TEST

START_TEST(describe_with_wrong_types_is_an_error)
{
	static const char a[] = "{\"InstanceInformationList\":{}}";
	static const char b[] = "{\"InstanceInformationList\":[\"i-1\"]}";
	static const char c[] = "{\"InstanceInformationList\":[{\"PingStatus\":true}]}";
	struct ssm_instance_info i;
	char err[256];

	ck_assert_int_eq(ssm_parse_describe_instance(a, strlen(a), &i, err, sizeof err), -1);
	ck_assert_int_eq(ssm_parse_describe_instance(b, strlen(b), &i, err, sizeof err), -1);
	ck_assert_int_eq(ssm_parse_describe_instance(c, strlen(c), &i, err, sizeof err), -1);
	ck_assert_ptr_null(i.ping_status);
}
END_TEST

START_TEST(terminate_answer_is_parsed)
{
	size_t len;
	char *json = fixture("ssm_terminate_session.json", &len), *id = NULL, err[128];

	ck_assert_int_eq(ssm_parse_terminate_session(json, len, &id, err, sizeof err), 0);
	ck_assert_str_eq(id, "periscope-auth0-69f5a1b2-0a1b2c3d4e5f6a7b8");
	free(id);
	free(json);
}
END_TEST

START_TEST(error_type_is_normalised_like_botocore)
{
	size_t len;
	char *json = fixture("ssm_error_target.json", &len);
	struct aws_error e;

	ssm_parse_error(json, len, NULL, 400, &e);
	ck_assert_str_eq(e.code, "TargetNotConnected");
	ck_assert_str_eq(e.message, "i-0123456789abcdef0 is not connected.");
	ck_assert_int_eq(e.http_status, 400);
	free(json);
	json = fixture("ssm_error_throttle.json", &len);
	ssm_parse_error(json, len, NULL, 400, &e);
	ck_assert_str_eq(e.code, "ThrottlingException");
	ck_assert_str_eq(e.message, "Rate exceeded");
	free(json);
	json = fixture("ssm_error_filter.json", &len);
	ssm_parse_error(json, len, NULL, 400, &e);
	ck_assert_str_eq(e.code, "InvalidInstanceInformationFilterValue");
	free(json);
	/* No body: the x-amzn-ErrorType header, then the status. */
	ssm_parse_error("", 0, "AccessDeniedException:http://internal.amazon.com/", 400, &e);
	ck_assert_str_eq(e.code, "AccessDeniedException");
	ssm_parse_error("<html>", 6, NULL, 503, &e);
	ck_assert_str_eq(e.code, "HTTP503");
	ck_assert_int_eq(e.http_status, 503);
}
END_TEST

static Suite *ssm_json_suite(void)
{
	Suite *s = suite_create("ssm_json");
	TCase *t = tcase_create("ssm_json");

	tcase_add_test(t, request_bodies_are_compact_model_json);
	tcase_add_test(t, start_session_answer_is_parsed_and_unknown_members_ignored);
	tcase_add_test(t, incomplete_start_session_answer_is_an_error);
	tcase_add_test(t, resume_session_answer_new_token_or_gone);
	tcase_add_test(t, describe_answer_gives_first_instance);
	tcase_add_test(t, describe_empty_list_is_not_registered_and_not_an_error);
	tcase_add_test(t, describe_with_wrong_types_is_an_error);
	tcase_add_test(t, terminate_answer_is_parsed);
	tcase_add_test(t, error_type_is_normalised_like_botocore);
	suite_add_tcase(s, t);
	return s;
}

UNIT_MAIN(ssm_json_suite)
