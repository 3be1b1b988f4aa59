/* The exec-stream codec against the wire examples in k8s-protocol.md section 1. */
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "k8s/k8s_channel.h"
#include "k8s/k8s_exec_url.h"
#include "unit.h"

START_TEST(stdin_is_channel_zero_then_the_bytes)
{
	struct buf b;

	buf_init(&b, 64);
	ck_assert_int_eq(k8s_encode_stdin(&b, "ls\n", 3), 0);
	ck_assert_uint_eq(b.len, 4);
	ck_assert_mem_eq(b.data, "\x00ls\n", 4);
	/* The buffer is reused: a second message replaces the first. */
	ck_assert_int_eq(k8s_encode_stdin(&b, "\x04", 1), 0);
	ck_assert_uint_eq(b.len, 2);
	ck_assert_mem_eq(b.data, "\x00\x04", 2);
	ck_assert_int_eq(k8s_encode_stdin(&b, "", 0), 0);
	ck_assert_uint_eq(b.len, 1);
	buf_free(&b);
}
END_TEST

START_TEST(stdin_larger_than_the_buffer_bound_is_refused)
{
	struct buf b;
	char big[100] = { 0 };

	buf_init(&b, 64);
	ck_assert_int_eq(k8s_encode_stdin(&b, big, sizeof big), -1);
	buf_free(&b);
}
END_TEST

START_TEST(resize_is_kubectls_json_on_channel_four)
{
	static const char want[] = "\x04{\"Width\":100,\"Height\":30}\n";
	struct buf b;

	buf_init(&b, 64);
	ck_assert_int_eq(k8s_encode_resize(&b, 100, 30), 0);
	ck_assert_uint_eq(b.len, sizeof want - 1);
	ck_assert_mem_eq(b.data, want, sizeof want - 1);
	ck_assert_int_eq(k8s_encode_resize(&b, 65535, 1), 0);
	ck_assert_mem_eq(b.data, "\x04{\"Width\":65535,\"Height\":1}\n", b.len);
	/* The server reads uint16 values; zero is no size at all. */
	ck_assert_int_eq(k8s_encode_resize(&b, 0, 30), -1);
	ck_assert_int_eq(k8s_encode_resize(&b, 80, 65536), -1);
	buf_free(&b);
}
END_TEST

START_TEST(close_stdin_exists_only_in_v5)
{
	struct buf b;

	buf_init(&b, 64);
	ck_assert_int_eq(k8s_encode_close_stdin(&b, K8S_PROTO_V5), 0);
	ck_assert_uint_eq(b.len, 2);
	ck_assert_mem_eq(b.data, "\xff\x00", 2);
	ck_assert_int_eq(k8s_encode_close_stdin(&b, K8S_PROTO_V4), -1);
	ck_assert_uint_eq(b.len, 0);
	ck_assert(k8s_proto_can_close_stdin(K8S_PROTO_V5));
	ck_assert(!k8s_proto_can_close_stdin(K8S_PROTO_V4));
	buf_free(&b);
}
END_TEST

START_TEST(subprotocol_names_map_to_versions)
{
	ck_assert_str_eq(k8s_subprotocol_offer[0], "v5.channel.k8s.io");
	ck_assert_str_eq(k8s_subprotocol_offer[1], "v4.channel.k8s.io");
	ck_assert_ptr_null(k8s_subprotocol_offer[2]);
	ck_assert_int_eq(k8s_proto_from_subprotocol("v5.channel.k8s.io"), K8S_PROTO_V5);
	ck_assert_int_eq(k8s_proto_from_subprotocol("v4.channel.k8s.io"), K8S_PROTO_V4);
	ck_assert_int_eq(k8s_proto_from_subprotocol("v4.base64.channel.k8s.io"), K8S_PROTO_UNKNOWN);
	ck_assert_int_eq(k8s_proto_from_subprotocol("channel.k8s.io"), K8S_PROTO_UNKNOWN);
	ck_assert_int_eq(k8s_proto_from_subprotocol(NULL), K8S_PROTO_UNKNOWN);
}
END_TEST

START_TEST(decode_splits_channel_and_payload)
{
	struct k8s_frame f;
	static const uint8_t first[] = { 0x01 };
	static const uint8_t err[] = { 0x02, 'o', 'o', 'p', 's' };
	static const uint8_t odd[] = { 0x09, 'x' };

	/* The empty "connected" message on the lowest writable channel. */
	ck_assert_int_eq(k8s_decode(first, sizeof first, &f), 0);
	ck_assert_uint_eq(f.channel, K8S_CH_STDOUT);
	ck_assert_uint_eq(f.len, 0);
	ck_assert_int_eq(k8s_decode(err, sizeof err, &f), 0);
	ck_assert_uint_eq(f.channel, K8S_CH_STDERR);
	ck_assert_uint_eq(f.len, 4);
	ck_assert_mem_eq(f.payload, "oops", 4);
	ck_assert_int_eq(k8s_decode(odd, sizeof odd, &f), 0);
	ck_assert_uint_eq(f.channel, 9);
	ck_assert_int_eq(k8s_decode(first, 0, &f), -1);
}
END_TEST

static struct k8s_status parse_ok(const char *json)
{
	struct k8s_status st;
	char err[128] = "";

	ck_assert_msg(k8s_status_parse(json, strlen(json), &st, err, sizeof err) == 0,
		      "parse failed: %s", err);
	return st;
}

START_TEST(status_success_is_exit_zero)
{
	struct k8s_status st = parse_ok("{\"metadata\":{},\"status\":\"Success\"}");
	char line[128];

	ck_assert_int_eq(st.kind, K8S_STATUS_SUCCESS);
	ck_assert_int_eq(st.exit_code, 0);
	k8s_status_describe(&st, line, sizeof line);
	ck_assert_str_eq(line, "success");
}
END_TEST

START_TEST(status_absent_is_success)
{
	struct k8s_status st;
	char err[64];

	ck_assert_int_eq(k8s_status_parse("", 0, &st, err, sizeof err), 0);
	ck_assert_int_eq(st.kind, K8S_STATUS_SUCCESS);
	ck_assert_int_eq(k8s_status_parse(" \n", 2, &st, err, sizeof err), 0);
	ck_assert_int_eq(st.kind, K8S_STATUS_SUCCESS);
}
END_TEST

START_TEST(status_non_zero_exit_gives_the_code)
{
	struct k8s_status st = parse_ok(
		"{\"metadata\":{},\"status\":\"Failure\","
		"\"message\":\"command terminated with non-zero exit code: error executing command [sh], exit code 3\","
		"\"reason\":\"NonZeroExitCode\","
		"\"details\":{\"causes\":[{\"reason\":\"ExitCode\",\"message\":\"3\"}]}}");
	char line[128];

	ck_assert_int_eq(st.kind, K8S_STATUS_EXIT);
	ck_assert_int_eq(st.exit_code, 3);
	ck_assert_str_eq(st.reason, "NonZeroExitCode");
	k8s_status_describe(&st, line, sizeof line);
	ck_assert_str_eq(line, "command terminated with exit code 3");

	/* The cause may come after others; only reason ExitCode counts. */
	st = parse_ok("{\"status\":\"Failure\",\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":"
		      "[{\"reason\":\"Other\",\"message\":\"9\"},{\"reason\":\"ExitCode\",\"message\":\"255\"}]}}");
	ck_assert_int_eq(st.kind, K8S_STATUS_EXIT);
	ck_assert_int_eq(st.exit_code, 255);
}
END_TEST

START_TEST(status_non_zero_exit_without_a_usable_code_is_a_failure)
{
	static const char *const bad[] = {
		"{\"status\":\"Failure\",\"reason\":\"NonZeroExitCode\",\"message\":\"m\"}",
		"{\"status\":\"Failure\",\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":\"ExitCode\",\"message\":\"256\"}]}}",
		"{\"status\":\"Failure\",\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":\"ExitCode\",\"message\":\"-1\"}]}}",
		"{\"status\":\"Failure\",\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":\"ExitCode\",\"message\":\"\"}]}}",
		"{\"status\":\"Failure\",\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":\"ExitCode\",\"message\":3}]}}",
		"{\"status\":\"Failure\",\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":{\"reason\":\"ExitCode\"}}}",
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct k8s_status st = parse_ok(bad[i]);

		ck_assert_msg(st.kind == K8S_STATUS_FAILURE, "case %zu", i);
	}
}
END_TEST

START_TEST(status_other_failure_keeps_code_reason_message)
{
	struct k8s_status st = parse_ok(
		"{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
		"\"message\":\"pods \\\"p\\\" is forbidden: User \\\"alice\\\" cannot create resource \\\"pods/exec\\\"\","
		"\"reason\":\"Forbidden\",\"details\":{\"name\":\"p\",\"kind\":\"pods\"},\"code\":403}");
	char line[256];

	ck_assert_int_eq(st.kind, K8S_STATUS_FAILURE);
	ck_assert_int_eq(st.code, 403);
	ck_assert_str_eq(st.reason, "Forbidden");
	k8s_status_describe(&st, line, sizeof line);
	ck_assert_str_eq(line, "Forbidden (403): pods \"p\" is forbidden: User \"alice\" cannot create "
			       "resource \"pods/exec\"");

	st = parse_ok("{\"status\":\"Failure\",\"reason\":\"InternalError\",\"code\":500,"
		      "\"message\":\"container not running\"}");
	ck_assert_int_eq(st.kind, K8S_STATUS_FAILURE);
	k8s_status_describe(&st, line, sizeof line);
	ck_assert_str_eq(line, "InternalError (500): container not running");

	st = parse_ok("{\"status\":\"Failure\"}");
	k8s_status_describe(&st, line, sizeof line);
	ck_assert_str_eq(line, "Failure: no message");
}
END_TEST

START_TEST(status_long_message_is_truncated_not_overrun)
{
	char json[2048], msg[1500];
	struct k8s_status st;
	char err[64];

	memset(msg, 'x', sizeof msg - 1);
	msg[sizeof msg - 1] = '\0';
	snprintf(json, sizeof json, "{\"status\":\"Failure\",\"message\":\"%s\"}", msg);
	ck_assert_int_eq(k8s_status_parse(json, strlen(json), &st, err, sizeof err), 0);
	ck_assert_uint_eq(strlen(st.message), sizeof st.message - 1);
}
END_TEST

START_TEST(status_malformed_input_is_an_error)
{
	static const char *const bad[] = {
		"{", "[]", "\"Success\"", "{\"status\":1}", "{\"kind\":\"Status\"}",
		"{\"status\":\"Pending\"}", "{\"status\":\"Success\",\"status\":\"Failure\"}",
		"{\"status\":\"Success\"} trailing", "command terminated with exit code 3",
	};
	struct k8s_status st;
	char err[128];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		ck_assert_msg(k8s_status_parse(bad[i], strlen(bad[i]), &st, err, sizeof err) == -1,
			      "case %zu accepted", i);
		ck_assert_msg(err[0] != '\0', "case %zu without a message", i);
	}
	/* A NUL inside the bytes does not end the parse early. */
	ck_assert_int_eq(k8s_status_parse("{\"status\":\"Success\"}\0x", 22, &st, err, sizeof err), -1);
}
END_TEST

START_TEST(exec_url_escapes_argv_and_sorts_flags)
{
	static const char *const cmd[] = { "sh", "-c", "echo a+b & x=1/2", NULL };
	struct k8s_exec_request r = {
		.server = "https://kube.example:6443", .ns = "team-a", .pod = "shell-1",
		.container = "shell", .command = cmd, .stdin_ = true, .stdout_ = true, .tty = true,
	};
	char err[128];
	char *url = k8s_exec_url(&r, err, sizeof err);

	ck_assert_ptr_nonnull(url);
	ck_assert_str_eq(url, "wss://kube.example:6443/api/v1/namespaces/team-a/pods/shell-1/exec"
			      "?command=sh&command=-c&command=echo%20a%2Bb%20%26%20x%3D1%2F2"
			      "&container=shell&stdin=true&stdout=true&tty=true");
	free(url);
}
END_TEST

START_TEST(exec_url_keeps_a_path_prefix_and_maps_http_to_ws)
{
	static const char *const cmd[] = { "cat", NULL };
	struct k8s_exec_request r = {
		.server = "http://127.0.0.1:8080/k8s/clusters/c-1/", .ns = "a b", .pod = "p/q",
		.command = cmd, .stdin_ = true, .stdout_ = true, .stderr_ = true,
	};
	char err[128];
	char *url = k8s_exec_url(&r, err, sizeof err);

	ck_assert_ptr_nonnull(url);
	ck_assert_str_eq(url, "ws://127.0.0.1:8080/k8s/clusters/c-1/api/v1/namespaces/a%20b/pods/p%2Fq"
			      "/exec?command=cat&stderr=true&stdin=true&stdout=true");
	free(url);
}
END_TEST

START_TEST(exec_url_refuses_incomplete_requests)
{
	static const char *const cmd[] = { "sh", NULL };
	static const char *const none[] = { NULL };
	struct k8s_exec_request ok = {
		.server = "https://h", .ns = "n", .pod = "p", .command = cmd, .stdout_ = true,
	};
	struct k8s_exec_request r;
	char err[128];
	char *url;

	url = k8s_exec_url(&ok, err, sizeof err);
	ck_assert_str_eq(url, "wss://h/api/v1/namespaces/n/pods/p/exec?command=sh&stdout=true");
	free(url);

	r = ok, r.command = none;
	ck_assert_ptr_null(k8s_exec_url(&r, err, sizeof err));
	ck_assert_str_eq(err, "exec needs a command");
	r = ok, r.stdout_ = false;
	ck_assert_ptr_null(k8s_exec_url(&r, err, sizeof err));
	r = ok, r.ns = "";
	ck_assert_ptr_null(k8s_exec_url(&r, err, sizeof err));
	r = ok, r.server = "ftp://h";
	ck_assert_ptr_null(k8s_exec_url(&r, err, sizeof err));
	r = ok, r.server = "https://h/?x=1";
	ck_assert_ptr_null(k8s_exec_url(&r, err, sizeof err));
	r = ok, r.server = "https:///";
	ck_assert_ptr_null(k8s_exec_url(&r, err, sizeof err));
}
END_TEST

static Suite *k8s_channel_suite(void)
{
	Suite *s = suite_create("k8s_channel");
	TCase *codec = tcase_create("codec"), *status = tcase_create("status"),
	      *url = tcase_create("exec_url");

	tcase_add_test(codec, stdin_is_channel_zero_then_the_bytes);
	tcase_add_test(codec, stdin_larger_than_the_buffer_bound_is_refused);
	tcase_add_test(codec, resize_is_kubectls_json_on_channel_four);
	tcase_add_test(codec, close_stdin_exists_only_in_v5);
	tcase_add_test(codec, subprotocol_names_map_to_versions);
	tcase_add_test(codec, decode_splits_channel_and_payload);
	tcase_add_test(status, status_success_is_exit_zero);
	tcase_add_test(status, status_absent_is_success);
	tcase_add_test(status, status_non_zero_exit_gives_the_code);
	tcase_add_test(status, status_non_zero_exit_without_a_usable_code_is_a_failure);
	tcase_add_test(status, status_other_failure_keeps_code_reason_message);
	tcase_add_test(status, status_long_message_is_truncated_not_overrun);
	tcase_add_test(status, status_malformed_input_is_an_error);
	tcase_add_test(url, exec_url_escapes_argv_and_sorts_flags);
	tcase_add_test(url, exec_url_keeps_a_path_prefix_and_maps_http_to_ws);
	tcase_add_test(url, exec_url_refuses_incomplete_requests);
	suite_add_tcase(s, codec);
	suite_add_tcase(s, status);
	suite_add_tcase(s, url);
	return s;
}

UNIT_MAIN(k8s_channel_suite)
