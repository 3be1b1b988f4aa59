/* ws_client's option checks and its state before a connection exists. The network
 * behaviour is tested against real servers in tests/integration/wsclient.test.mjs. */
#include <poll.h>
#include <string.h>

#include "unit.h"
#include "net/wsclient.h"

START_TEST(reserved_or_malformed_headers_are_refused_without_their_values)
{
	static const char *const reserved[] = { "Sec-WebSocket-Protocol: x", NULL };
	static const char *const broken[] = { "Authorization: Bearer s3cret\nX-Evil: 1", NULL };
	struct ws_client_opts o = { .url = "ws://127.0.0.1:1/", .headers = reserved };
	char err[256];

	ck_assert_ptr_null(ws_client_new(&o, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "Sec-WebSocket-Protocol"));
	o.headers = broken;
	ck_assert_ptr_null(ws_client_new(&o, err, sizeof err));
	ck_assert_ptr_null(strstr(err, "s3cret"));
	o.url = NULL;
	o.headers = NULL;
	ck_assert_ptr_null(ws_client_new(&o, err, sizeof err));
}
END_TEST

static void expect_connect_error(const char *url, const char *needle, const char *secret)
{
	struct ws_client_opts o = { .url = url, .connect_timeout_ms = 2000 };
	char err[256] = "";
	struct ws_client *c = ws_client_new(&o, err, sizeof err);

	ck_assert_msg(c != NULL, "%s", err);
	ck_assert_int_eq(ws_client_connect(c, err, sizeof err), -1);
	ck_assert_msg(strstr(err, needle), "\"%s\" lacks \"%s\"", err, needle);
	if (secret)
		ck_assert_ptr_null(strstr(err, secret));
	ck_assert_int_eq(ws_client_http_status(c), 0);
	ck_assert(ws_client_closed(c));
	ck_assert_int_eq(ws_client_fd(c), -1);
	ws_client_free(c);
}

START_TEST(urls_other_than_ws_are_refused)
{
	expect_connect_error("http://127.0.0.1/", "ws or wss", NULL);
	expect_connect_error("ws://user:hunter2@127.0.0.1/", "credentials", "hunter2");
	expect_connect_error("not a url", "bad WebSocket URL", NULL);
}
END_TEST

START_TEST(an_unconnected_client_refuses_everything_quietly)
{
	struct ws_client_opts o = { .url = "ws://127.0.0.1:1/" };
	struct ws_close_info ci;
	char err[256];
	struct ws_client *c = ws_client_new(&o, err, sizeof err);

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(ws_client_send(c, WS_OPCODE_TEXT, "x", 1), -1);
	ck_assert_int_eq(ws_client_ping(c), -1);
	ck_assert_int_eq(ws_client_close(c, 1000, "bye"), -1);
	ck_assert_int_eq(ws_client_poll_events(c), 0);
	ck_assert(!ws_client_has_buffered_input(c));
	ck_assert_uint_eq(ws_client_pending_output(c), 0);
	ck_assert_ptr_null(ws_client_subprotocol(c));
	ck_assert_int_eq(ws_client_on_ready(c, POLLIN), -1);
	ws_client_close_info(c, &ci);
	ck_assert(!ci.close_received && !ci.close_sent);
	ws_client_free(c);
	ws_client_free(NULL);
}
END_TEST

static Suite *wsclient_suite(void)
{
	Suite *s = suite_create("wsclient");
	TCase *tc = tcase_create("options");

	tcase_add_test(tc, reserved_or_malformed_headers_are_refused_without_their_values);
	tcase_add_test(tc, urls_other_than_ws_are_refused);
	tcase_add_test(tc, an_unconnected_client_refuses_everything_quietly);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(wsclient_suite)
