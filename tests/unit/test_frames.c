/* The browser frame protocol: what wsbridge accepts from a client and what it sends. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/encoding.h"
#include "shell/client_lines.h"
#include "shell/frames.h"
#include "unit.h"

static int parse(const char *line, struct client_frame *f, char *err)
{
	return frame_parse_client(line, strlen(line), f, err, 128);
}

START_TEST(stdin_is_base64_decoded)
{
	struct client_frame f;
	char err[128];

	ck_assert_int_eq(parse("{\"type\":\"stdin\",\"data\":\"ZWNobyBoaQ0=\"}", &f, err), 0);
	ck_assert_int_eq(f.type, CLIENT_STDIN);
	ck_assert_uint_eq(f.len, 8);
	ck_assert_mem_eq(f.data, "echo hi\r", 8);
	client_frame_clear(&f);
}
END_TEST

/* frame_parse_client reads the web client's keystroke line without the JSON parser: every
 * line near that shape must still mean what the JSON says (or be refused as it says). */
START_TEST(keystroke_lines_mean_what_their_json_says)
{
	static const struct {
		const char *line;
		int rc;
		const char *bytes; /* decoded stdin, or the start of the error */
	} cases[] = {
		{ "{\"type\":\"stdin\",\"data\":\"YQ==\"}", 0, "a" },
		{ "{\"type\":\"stdin\",\"data\":\"\"}", 0, "" },
		/* an escape in the string: the parser decodes it to the same base64 */
		{ "{\"type\":\"stdin\",\"data\":\"YQ\\u003d=\"}", 0, "a" },
		{ "{\"type\":\"stdin\",\"data\":\"Y\\/8=\"}", 0, "c\xff" },
		/* whitespace around the object is JSON */
		{ "{\"type\":\"stdin\",\"data\":\"YQ==\"} ", 0, "a" },
		/* the same shape, not base64 */
		{ "{\"type\":\"stdin\",\"data\":\"YQ=\"}", -1, "stdin.data must be base64" },
		{ "{\"type\":\"stdin\",\"data\":\"Y!Q=\"}", -1, "stdin.data must be base64" },
		/* GnuTLS's base64 skips white space: so do both paths */
		{ "{\"type\":\"stdin\",\"data\":\"Y Q==\"}", 0, "a" },
		/* the same start, then more fields: a duplicate key is refused, another type wins */
		{ "{\"type\":\"stdin\",\"data\":\"YQ==\",\"data\":\"Yg==\"}", -1, "not a JSON object" },
		{ "{\"type\":\"stdin\",\"data\":\"YQ==\",\"type\":\"close\"}", -1, "not a JSON object" },
		/* not closed, or two objects */
		{ "{\"type\":\"stdin\",\"data\":\"YQ==\"", -1, "not a JSON object" },
		{ "{\"type\":\"stdin\",\"data\":\"YQ==\"}{\"type\":\"stdin\",\"data\":\"\"}", -1, "not a JSON object" },
		{ "{\"type\":\"stdin\",\"data\":\"\"}\"}", -1, "not a JSON object" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct client_frame f;
		char err[128] = "";
		int rc = parse(cases[i].line, &f, err);

		ck_assert_msg(rc == cases[i].rc, "%s: %d (%s)", cases[i].line, rc, err);
		if (rc == 0) {
			ck_assert_int_eq(f.type, CLIENT_STDIN);
			ck_assert_uint_eq(f.len, strlen(cases[i].bytes));
			ck_assert_mem_eq(f.data, cases[i].bytes, f.len);
			client_frame_clear(&f);
		} else {
			ck_assert_msg(strncmp(err, cases[i].bytes, strlen(cases[i].bytes)) == 0, "%s: %s",
				      cases[i].line, err);
		}
	}
}
END_TEST

/* The longest keystroke line is FRAME_MAX_LINE bytes (its data decodes to less than
 * FRAME_MAX_STDIN); one byte more is refused before either path reads it. */
START_TEST(keystroke_lines_keep_the_line_limit)
{
	static const char head[] = "{\"type\":\"stdin\",\"data\":\"", tail[] = "\"}";
	size_t data_len = (FRAME_MAX_LINE - (sizeof head - 1) - (sizeof tail - 1)) / 4 * 4;
	char *line = malloc(FRAME_MAX_LINE + 2);
	struct client_frame f;
	char err[128] = "";

	ck_assert_ptr_nonnull(line);
	strcpy(line, head);
	memset(line + strlen(head), 'A', data_len);
	strcpy(line + strlen(head) + data_len, tail);
	ck_assert_int_eq(parse(line, &f, err), 0);
	ck_assert_uint_eq(f.len, data_len / 4 * 3);
	ck_assert_uint_le(f.len, FRAME_MAX_STDIN);
	client_frame_clear(&f);
	memset(line + strlen(head), 'A', FRAME_MAX_LINE + 1 - strlen(head) - strlen(tail));
	strcpy(line + FRAME_MAX_LINE + 1 - strlen(tail), tail);
	ck_assert_uint_eq(strlen(line), FRAME_MAX_LINE + 1);
	ck_assert_int_eq(parse(line, &f, err), -1);
	ck_assert_str_eq(err, "frame longer than 65536 bytes");
	free(line);
}
END_TEST

START_TEST(resize_needs_sane_integers)
{
	struct client_frame f;
	char err[128];

	ck_assert_int_eq(parse("{\"type\":\"resize\",\"cols\":120,\"rows\":40}", &f, err), 0);
	ck_assert_int_eq(f.cols, 120);
	ck_assert_int_eq(f.rows, 40);
	ck_assert_int_eq(parse("{\"type\":\"resize\",\"cols\":0,\"rows\":40}", &f, err), -1);
	ck_assert_int_eq(parse("{\"type\":\"resize\",\"cols\":\"80\",\"rows\":40}", &f, err), -1);
	ck_assert_int_eq(parse("{\"type\":\"resize\",\"cols\":80,\"rows\":100000}", &f, err), -1);
	ck_assert_ptr_nonnull(strstr(err, "resize"));
}
END_TEST

START_TEST(ping_echoes_only_small_scalars)
{
	struct client_frame f;
	char err[128];
	struct buf out;

	buf_init(&out, 4096);
	ck_assert_int_eq(parse("{\"type\":\"ping\",\"ts\":12345}", &f, err), 0);
	ck_assert_int_eq(f.type, CLIENT_PING);
	ck_assert_int_eq(frame_pong(&out, f.ts), 0);
	ck_assert_str_eq(out.data, "{\"type\":\"pong\",\"ts\":12345}\n");
	client_frame_clear(&f);
	ck_assert_int_eq(parse("{\"type\":\"ping\",\"ts\":{\"big\":[1,2,3]}}", &f, err), 0);
	ck_assert_ptr_null(f.ts);
	client_frame_clear(&f);
	buf_free(&out);
}
END_TEST

START_TEST(malformed_frames_are_refused_with_a_reason)
{
	struct client_frame f;
	char err[128];

	ck_assert_int_eq(parse("not json", &f, err), -1);
	ck_assert_int_eq(parse("[1,2]", &f, err), -1);
	ck_assert_int_eq(parse("{\"data\":\"AA==\"}", &f, err), -1);
	ck_assert_int_eq(parse("{\"type\":\"launch\"}", &f, err), -1);
	ck_assert_ptr_nonnull(strstr(err, "launch"));
	ck_assert_int_eq(parse("{\"type\":\"stdin\",\"data\":\"***\"}", &f, err), -1);
	ck_assert_int_eq(parse("{\"type\":\"stdin\",\"data\":5}", &f, err), -1);
	ck_assert_int_eq(parse("{\"type\":\"close\",\"type\":\"stdin\"}", &f, err), -1);
}
END_TEST

START_TEST(oversized_lines_and_payloads_are_refused)
{
	static char line[FRAME_MAX_LINE + 64];
	struct client_frame f;
	char err[128];
	size_t n;

	n = (size_t)snprintf(line, sizeof line, "{\"type\":\"stdin\",\"data\":\"");
	/* 48 KiB + 3 decoded bytes: base64 of 49155 bytes is 65540 characters. */
	memset(line + n, 'A', 65540);
	n += 65540;
	n += (size_t)snprintf(line + n, sizeof line - n, "\"}");
	ck_assert_int_eq(frame_parse_client(line, n, &f, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "longer than"));
}
END_TEST

/* Every length's padding, an empty chunk, and bytes that are not text: the frame decodes
 * back to exactly what went in (RFC 4648 test vectors for the short ones). */
START_TEST(stdout_frames_encode_every_length_exactly)
{
	static const char *const rfc4648[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	unsigned char raw[4099], *back = NULL;
	size_t back_len = 0;
	struct buf out;
	char want[64];

	buf_init(&out, 1 << 20);
	for (size_t i = 0; i < sizeof rfc4648 / sizeof rfc4648[0]; i++) {
		buf_reset(&out);
		ck_assert_int_eq(frame_stdout(&out, rfc4648[i][0], strlen(rfc4648[i][0])), 0);
		snprintf(want, sizeof want, "{\"type\":\"stdout\",\"data\":\"%s\"}\n", rfc4648[i][1]);
		ck_assert_str_eq(out.data, want);
	}
	for (size_t i = 0; i < sizeof raw; i++)
		raw[i] = (unsigned char)(i * 151 + 7);
	buf_reset(&out);
	ck_assert_int_eq(frame_stdout(&out, raw, sizeof raw), 0);
	ck_assert_int_eq(out.len, strlen(out.data));
	ck_assert_int_eq(b64_decode(out.data + 25, out.len - 25 - 3, &back, &back_len), 0);
	ck_assert_int_eq(back_len, sizeof raw);
	ck_assert_mem_eq(back, raw, sizeof raw);
	free(back);
	buf_free(&out);
}
END_TEST

/* A frame that does not fit under the buffer's maximum is refused whole, leaving what was
 * queued intact; a buffer grown in a burst is given back by buf_reset_shrink. */
START_TEST(stdout_frames_respect_the_maximum_and_shrink_after_a_burst)
{
	static unsigned char big[3000];
	struct buf out;

	buf_init(&out, 4096);
	ck_assert_int_eq(frame_stdout(&out, "hi", 2), 0);
	ck_assert_int_eq(frame_stdout(&out, big, sizeof big), 0);
	ck_assert_int_ne(frame_stdout(&out, big, sizeof big), 0);
	ck_assert_int_eq(strncmp(out.data, "{\"type\":\"stdout\",\"data\":\"aGk=\"}\n", 32), 0);
	ck_assert_int_eq(out.len, 32 + 25 + 4000 + 3);
	buf_reset_shrink(&out, 1024);
	ck_assert_ptr_null(out.data);
	ck_assert_int_eq(out.len, 0);
	ck_assert_int_eq(frame_stdout(&out, "hi", 2), 0);
	buf_reset_shrink(&out, 1024);
	ck_assert_ptr_nonnull(out.data);
	ck_assert_str_eq(out.data, "");
	buf_free(&out);
}
END_TEST

/* The bridge's stdout queue drops the part websocketd has taken (wsbridge/session.c
 * flush_some): what is left moves to the front, NUL-terminated, and more can follow it. */
START_TEST(a_queue_drops_its_written_part_and_keeps_the_rest)
{
	struct buf out;

	buf_init(&out, 64);
	ck_assert_int_eq(buf_append_str(&out, "written|pending"), 0);
	buf_drop_front(&out, strlen("written|"));
	ck_assert_int_eq(out.len, strlen("pending"));
	ck_assert_str_eq(out.data, "pending");
	ck_assert_int_eq(buf_append_str(&out, "+more"), 0);
	ck_assert_str_eq(out.data, "pending+more");
	buf_drop_front(&out, 0);
	ck_assert_str_eq(out.data, "pending+more");
	buf_drop_front(&out, out.len + 5);   /* past the end: empty, not past the buffer */
	ck_assert_int_eq(out.len, 0);
	ck_assert_str_eq(out.data, "");
	buf_free(&out);
}
END_TEST

START_TEST(server_frames_are_single_compact_lines)
{
	struct buf out;

	buf_init(&out, 1 << 20);
	ck_assert_int_eq(frame_stdout(&out, "hi\r\n", 4), 0);
	ck_assert_int_eq(frame_idle_warn(&out, 30), 0);
	ck_assert_int_eq(frame_closed(&out, "exit", 3), 0);
	ck_assert_int_eq(frame_error(&out, "E_CAP_USER", "too many \"shells\"\n", false, true), 0);
	ck_assert_str_eq(out.data,
			 "{\"type\":\"stdout\",\"data\":\"aGkNCg==\"}\n"
			 "{\"type\":\"idle_warn\",\"secondsRemaining\":30}\n"
			 "{\"type\":\"closed\",\"reason\":\"exit\",\"exitCode\":3}\n"
			 "{\"type\":\"error\",\"code\":\"E_CAP_USER\",\"message\":\"too many \\\"shells\\\"\\n\","
			 "\"retryable\":false,\"fatal\":true}\n");
	buf_free(&out);
}
END_TEST

START_TEST(a_frame_after_stray_bytes_is_found)
{
	static const char ping[] = "{\"type\":\"ping\",\"ts\":7}";
	char line[256], err[128];
	struct client_frame f;
	size_t skipped;

	/* A whole frame: nothing skipped. */
	ck_assert_int_eq(frame_parse_client_tail(ping, strlen(ping), &f, &skipped, err, sizeof err), 0);
	ck_assert_uint_eq(skipped, 0);
	client_frame_clear(&f);
	/* Binary bytes (braces included) glued to the front of the next text message. */
	snprintf(line, sizeof line, "\x01\xff{{junk%s", ping);
	ck_assert_int_eq(frame_parse_client_tail(line, strlen(line), &f, &skipped, err, sizeof err), 0);
	ck_assert_int_eq(f.type, CLIENT_PING);
	ck_assert_uint_eq(skipped, strlen(line) - strlen(ping));
	client_frame_clear(&f);
	/* Nothing that ends in a frame: the whole line's error. */
	ck_assert_int_eq(frame_parse_client_tail("not json", 8, &f, &skipped, err, sizeof err), -1);
	ck_assert_str_eq(err, "not a JSON object");
	ck_assert_int_eq(frame_parse_client_tail("x{\"type\":\"nope\"}", 17, &f, &skipped, err,
						 sizeof err), -1);
}
END_TEST

struct seen_lines {
	char lines[4][128];
	bool overflowed[4];
	size_t lens[4];
	int n;
};

static int record_line(void *ud, const char *line, size_t len, bool overflowed)
{
	struct seen_lines *seen = ud;

	ck_assert_int_lt(seen->n, 4);
	snprintf(seen->lines[seen->n], sizeof seen->lines[0], "%.*s", (int)(len < 100 ? len : 100), line);
	seen->lens[seen->n] = len;
	seen->overflowed[seen->n] = overflowed;
	seen->n++;
	return 0;
}

START_TEST(stdin_splits_into_lines_keeping_the_end_of_an_overlong_one)
{
	struct seen_lines seen = { 0 };
	struct buf line;
	bool overflowed = false;
	size_t big = FRAME_MAX_LINE + 5000;
	char *junk = unit_malloc(big);

	buf_init(&line, FRAME_MAX_LINE);
	/* Lines may arrive in pieces, several at once. */
	ck_assert_int_eq(client_lines_feed(&line, &overflowed, "ab", 2, record_line, &seen), 0);
	ck_assert_int_eq(client_lines_feed(&line, &overflowed, "c\nde\nf", 6, record_line, &seen), 0);
	ck_assert_int_eq(seen.n, 2);
	ck_assert_str_eq(seen.lines[0], "abc");
	ck_assert_str_eq(seen.lines[1], "de");
	ck_assert(!seen.overflowed[0] && !seen.overflowed[1]);
	/* A large binary message, then a text message: the line keeps its last 64 KiB, which
	 * end with the text message. */
	memset(junk, 'j', big);
	ck_assert_int_eq(client_lines_feed(&line, &overflowed, junk, big, record_line, &seen), 0);
	ck_assert_int_eq(client_lines_feed(&line, &overflowed, "{}\n", 3, record_line, &seen), 0);
	ck_assert_int_eq(seen.n, 3);
	ck_assert(seen.overflowed[2]);
	ck_assert_uint_eq(seen.lens[2], FRAME_MAX_LINE);
	/* The next line starts clean. */
	ck_assert_int_eq(client_lines_feed(&line, &overflowed, "g\n", 2, record_line, &seen), 0);
	ck_assert_str_eq(seen.lines[3], "g");
	ck_assert(!seen.overflowed[3]);
	buf_free(&line);
	free(junk);
}
END_TEST

static Suite *frames_suite(void)
{
	Suite *s = suite_create("frames");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, stdin_is_base64_decoded);
	tcase_add_test(tc, keystroke_lines_mean_what_their_json_says);
	tcase_add_test(tc, keystroke_lines_keep_the_line_limit);
	tcase_add_test(tc, stdout_frames_encode_every_length_exactly);
	tcase_add_test(tc, stdout_frames_respect_the_maximum_and_shrink_after_a_burst);
	tcase_add_test(tc, a_queue_drops_its_written_part_and_keeps_the_rest);
	tcase_add_test(tc, resize_needs_sane_integers);
	tcase_add_test(tc, ping_echoes_only_small_scalars);
	tcase_add_test(tc, malformed_frames_are_refused_with_a_reason);
	tcase_add_test(tc, oversized_lines_and_payloads_are_refused);
	tcase_add_test(tc, server_frames_are_single_compact_lines);
	tcase_add_test(tc, a_frame_after_stray_bytes_is_found);
	tcase_add_test(tc, stdin_splits_into_lines_keeping_the_end_of_an_overlong_one);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(frames_suite)
