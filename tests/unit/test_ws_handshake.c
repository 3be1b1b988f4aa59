/* The HTTP side of the WebSocket client handshake: request bytes, answer parsing, the
 * checks on a 101, and the body of a refusal. */
#include <string.h>

#include "core/buf.h"
#include "core/encoding.h"
#include "unit.h"
#include "net/ws_handshake.h"

/* RFC 6455 section 1.3's example key and its accept value. */
#define RFC_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define RFC_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

static const char *const k8s_offer[] = { "v5.channel.k8s.io", "v4.channel.k8s.io", NULL };

static struct ws_http_head parse(const char *text)
{
	struct ws_http_head h;
	char err[256] = "";
	size_t end = ws_handshake_head_end(text, strlen(text));

	ck_assert_msg(end > 0, "head not complete");
	ck_assert_msg(ws_handshake_parse_head(text, end, &h, err, sizeof err) == 0, "%s", err);
	return h;
}

START_TEST(accept_matches_the_rfc_example)
{
	char accept[WS_ACCEPT_LEN + 1];

	ck_assert_int_eq(ws_handshake_accept_for(RFC_KEY, accept), 0);
	ck_assert_str_eq(accept, RFC_ACCEPT);
}
END_TEST

START_TEST(keys_are_fresh_base64_of_16_bytes)
{
	char a[WS_KEY_LEN + 1], b[WS_KEY_LEN + 1];
	unsigned char *raw = NULL;
	size_t n = 0;

	ck_assert_int_eq(ws_handshake_new_key(a), 0);
	ck_assert_int_eq(ws_handshake_new_key(b), 0);
	ck_assert_str_ne(a, b);
	ck_assert_int_eq(b64_decode(a, strlen(a), &raw, &n), 0);
	ck_assert_uint_eq(n, 16);
	free(raw);
}
END_TEST

START_TEST(request_has_one_protocol_line_and_the_extra_headers)
{
	static const char *const headers[] = { "Authorization: Bearer t0ken",
					       "Impersonate-User: alice", NULL };
	struct buf b;

	buf_init(&b, 4096);
	ck_assert_int_eq(ws_handshake_request(&b, "/api/v1/x?command=sh", "kube:6443", RFC_KEY,
					      k8s_offer, headers, "periscope"), 0);
	ck_assert_str_eq(b.data,
			 "GET /api/v1/x?command=sh HTTP/1.1\r\n"
			 "Host: kube:6443\r\n"
			 "User-Agent: periscope\r\n"
			 "Upgrade: websocket\r\n"
			 "Connection: Upgrade\r\n"
			 "Sec-WebSocket-Key: " RFC_KEY "\r\n"
			 "Sec-WebSocket-Version: 13\r\n"
			 "Sec-WebSocket-Protocol: v5.channel.k8s.io, v4.channel.k8s.io\r\n"
			 "Authorization: Bearer t0ken\r\n"
			 "Impersonate-User: alice\r\n"
			 "\r\n");
	buf_reset(&b);
	ck_assert_int_eq(ws_handshake_request(&b, "/", "h", RFC_KEY, NULL, NULL, "ua"), 0);
	ck_assert_ptr_null(strstr(b.data, "Sec-WebSocket-Protocol"));
	/* Nothing that would split the request line. */
	buf_reset(&b);
	ck_assert_int_eq(ws_handshake_request(&b, "/a b", "h", RFC_KEY, NULL, NULL, "ua"), -1);
	buf_reset(&b);
	ck_assert_int_eq(ws_handshake_request(&b, "/", "h\r\nX: y", RFC_KEY, NULL, NULL, "ua"), -1);
	buf_free(&b);
}
END_TEST

START_TEST(extra_headers_are_checked_without_echoing_values)
{
	char err[256];

	ck_assert_int_eq(ws_handshake_check_header("Authorization: Bearer x", err, sizeof err), 0);
	ck_assert_int_eq(ws_handshake_check_header("Impersonate-Extra-example.com%2fscopes: a/b",
						   err, sizeof err), 0);
	ck_assert_int_eq(ws_handshake_check_header("Host: evil", err, sizeof err), -1);
	ck_assert_int_eq(ws_handshake_check_header("sec-websocket-protocol: x", err, sizeof err), -1);
	ck_assert_int_eq(ws_handshake_check_header("Bad Name: x", err, sizeof err), -1);
	ck_assert_int_eq(ws_handshake_check_header("NoColon", err, sizeof err), -1);
	ck_assert_int_eq(ws_handshake_check_header("Authorization: Bearer s3cret\r\nX: y", err,
						   sizeof err), -1);
	ck_assert_ptr_null(strstr(err, "s3cret"));
	ck_assert_ptr_nonnull(strstr(err, "Authorization"));
}
END_TEST

START_TEST(a_correct_101_passes_and_names_the_protocol)
{
	struct ws_http_head h = parse("HTTP/1.1 101 Switching Protocols\r\n"
				      "upgrade: WebSocket\r\n"
				      "connection: keep-alive, Upgrade\r\n"
				      "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n"
				      "Sec-WebSocket-Protocol: v4.channel.k8s.io\r\n\r\n");
	const char *chosen = NULL;
	char err[256];

	ck_assert_int_eq(h.status, 101);
	ck_assert_int_eq(ws_handshake_check_101(&h, RFC_KEY, k8s_offer, &chosen, err, sizeof err), 0);
	ck_assert_str_eq(chosen, "v4.channel.k8s.io");
}
END_TEST

static void expect_refused(const char *head, const char *const *offer, const char *needle)
{
	struct ws_http_head h = parse(head);
	const char *chosen;
	char err[256] = "";

	ck_assert_int_eq(ws_handshake_check_101(&h, RFC_KEY, offer, &chosen, err, sizeof err), -1);
	ck_assert_msg(strstr(err, needle), "\"%s\" lacks \"%s\"", err, needle);
}

#define OK_HEAD "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"

START_TEST(a_101_is_refused_for_each_broken_promise)
{
	expect_refused(OK_HEAD "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n"
			       "Sec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n",
		       k8s_offer, "does not match");
	expect_refused(OK_HEAD "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n\r\n", k8s_offer,
		       "no subprotocol");
	expect_refused(OK_HEAD "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n"
			       "Sec-WebSocket-Protocol: base64.channel.k8s.io\r\n\r\n",
		       k8s_offer, "not offered");
	expect_refused(OK_HEAD "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n"
			       "Sec-WebSocket-Protocol: v5.channel.k8s.io\r\n"
			       "Sec-WebSocket-Protocol: v4.channel.k8s.io\r\n\r\n",
		       k8s_offer, "no subprotocol");
	expect_refused(OK_HEAD "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n"
			       "Sec-WebSocket-Protocol: v5.channel.k8s.io\r\n"
			       "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
		       k8s_offer, "extension");
	expect_refused(OK_HEAD "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n"
			       "Sec-WebSocket-Protocol: chat\r\n\r\n",
		       NULL, "none was offered");
	expect_refused("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
		       "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n\r\n",
		       NULL, "Upgrade");
	expect_refused("HTTP/1.1 200 OK\r\n\r\n", NULL, "HTTP 200");
}
END_TEST

START_TEST(malformed_heads_are_errors)
{
	static const char *const bad[] = {
		"HTTP/2 101\r\n\r\n", "ICY 200 OK\r\n\r\n", "HTTP/1.1 1O1 x\r\n\r\n",
		"HTTP/1.1 101 x\r\n folded: header\r\n\r\n", "HTTP/1.1 101 x\r\nno colon\r\n\r\n",
		"HTTP/1.1 200 x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
		"HTTP/1.1 200 x\r\nContent-Length: -5\r\n\r\n", "\r\n\r\n",
	};
	struct ws_http_head h;
	char err[256];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		size_t end = ws_handshake_head_end(bad[i], strlen(bad[i]));

		err[0] = '\0';
		ck_assert_msg(ws_handshake_parse_head(bad[i], end, &h, err, sizeof err) == -1,
			      "case %zu accepted", i);
		ck_assert(err[0] != '\0');
	}
	ck_assert_uint_eq(ws_handshake_head_end("HTTP/1.1 101 x\r\n", 16), 0);
}
END_TEST

START_TEST(refusal_body_by_content_length)
{
	struct ws_http_head h = parse("HTTP/1.1 403 Forbidden\r\nContent-Length: 10\r\n\r\n");
	struct buf body;

	buf_init(&body, WS_BODY_MAX);
	ck_assert_int_eq(ws_handshake_body(&h, "{\"a\":", 5, &body), 0);
	ck_assert_int_eq(ws_handshake_body(&h, "{\"a\":\"bcd\"}extra", 16, &body), 1);
	ck_assert_str_eq(body.data, "{\"a\":\"bcd\"");
	buf_free(&body);
}
END_TEST

START_TEST(refusal_body_chunked)
{
	static const char raw[] = "f\r\n{\"status\":\"Fail\r\n9;ext=1\r\nure\"}    \r\n0\r\n\r\n";
	struct ws_http_head h = parse("HTTP/1.1 400 Bad\r\nTransfer-Encoding: chunked\r\n\r\n");
	struct buf body;

	buf_init(&body, WS_BODY_MAX);
	ck_assert_int_eq(ws_handshake_body(&h, raw, 10, &body), 0);
	ck_assert_int_eq(ws_handshake_body(&h, raw, sizeof raw - 1, &body), 1);
	ck_assert_str_eq(body.data, "{\"status\":\"Failure\"}    ");
	ck_assert_int_eq(ws_handshake_body(&h, "zz\r\n", 4, &body), -1);
	ck_assert_int_eq(ws_handshake_body(&h, "3\r\nabcX\r\n", 9, &body), -1);
	buf_free(&body);
}
END_TEST

START_TEST(refusal_body_is_truncated_to_the_bound)
{
	struct ws_http_head h = parse("HTTP/1.1 500 x\r\nContent-Length: 20\r\n\r\n");
	struct buf body;

	buf_init(&body, 8);
	ck_assert_int_eq(ws_handshake_body(&h, "0123456789abcdefghij", 20, &body), 1);
	ck_assert_str_eq(body.data, "01234567");
	buf_free(&body);
}
END_TEST

START_TEST(refusal_body_without_length_waits_for_the_end)
{
	struct ws_http_head h = parse("HTTP/1.0 404 Not Found\r\n\r\n");
	struct buf body;

	buf_init(&body, 64);
	ck_assert_int_eq(ws_handshake_body(&h, "not found", 9, &body), 0);
	h = parse("HTTP/1.1 204 No Content\r\n\r\n");
	ck_assert_int_eq(ws_handshake_body(&h, "", 0, &body), 1);
	ck_assert_uint_eq(body.len, 0);
	buf_free(&body);
}
END_TEST

static Suite *ws_handshake_suite(void)
{
	Suite *s = suite_create("ws_handshake");
	TCase *req = tcase_create("request"), *ans = tcase_create("answer");

	tcase_add_test(req, accept_matches_the_rfc_example);
	tcase_add_test(req, keys_are_fresh_base64_of_16_bytes);
	tcase_add_test(req, request_has_one_protocol_line_and_the_extra_headers);
	tcase_add_test(req, extra_headers_are_checked_without_echoing_values);
	tcase_add_test(ans, a_correct_101_passes_and_names_the_protocol);
	tcase_add_test(ans, a_101_is_refused_for_each_broken_promise);
	tcase_add_test(ans, malformed_heads_are_errors);
	tcase_add_test(ans, refusal_body_by_content_length);
	tcase_add_test(ans, refusal_body_chunked);
	tcase_add_test(ans, refusal_body_is_truncated_to_the_bound);
	tcase_add_test(ans, refusal_body_without_length_waits_for_the_end);
	suite_add_tcase(s, req);
	suite_add_tcase(s, ans);
	return s;
}

UNIT_MAIN(ws_handshake_suite)
