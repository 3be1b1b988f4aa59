/* The close row's transcript: everything while it fits; past the cap the first half and
 * the last half, with the offsets of the cut. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_escape.h"
#include "core/utf8.h"
#include "shell/transcript.h"
#include "unit.h"

/* transcript_to_json as the close row gets it: the numbers in o, the text members parsed
 * back into o. */
static void to_json(struct transcript *t, json_t *o)
{
	struct buf members, text;
	json_t *parsed;

	buf_init(&members, 1 << 20);
	buf_init(&text, 1 << 20);
	ck_assert_int_eq(transcript_to_json(t, o, &members), 0);
	ck_assert_int_eq(buf_printf(&text, "{%s}", members.len ? members.data : ""), 0);
	parsed = json_loads(text.data, 0, NULL);
	ck_assert_ptr_nonnull(parsed);
	ck_assert_int_eq(json_object_update(o, parsed), 0);
	json_decref(parsed);
	buf_free(&members);
	buf_free(&text);
}

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static long long num(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

START_TEST(everything_while_it_fits)
{
	struct transcript t;
	json_t *o = json_object();

	ck_assert_int_eq(transcript_init(&t, 10), 0);
	transcript_add(&t, "hello ", 6);
	transcript_add(&t, "you!", 4);
	to_json(&t, o);
	ck_assert_str_eq(str(o, "transcript"), "hello you!");
	ck_assert_int_eq(num(o, "transcript_bytes"), 10);
	ck_assert(json_is_false(json_object_get(o, "truncated")));
	ck_assert_ptr_null(json_object_get(o, "transcript_tail"));
	transcript_free(&t);
	json_decref(o);
}
END_TEST

START_TEST(head_and_tail_past_the_cap)
{
	struct transcript t;
	json_t *o = json_object();
	char line[16];

	/* 10 bytes: 5 of head, 5 of tail. "0123456789" x 3, then the end. */
	ck_assert_int_eq(transcript_init(&t, 10), 0);
	for (int i = 0; i < 3; i++)
		transcript_add(&t, "0123456789", 10);
	snprintf(line, sizeof line, "LAST!");
	transcript_add(&t, line, 5);
	to_json(&t, o);
	ck_assert_str_eq(str(o, "transcript"), "01234");
	ck_assert_str_eq(str(o, "transcript_tail"), "LAST!");
	ck_assert_int_eq(num(o, "transcript_bytes"), 35);
	ck_assert(json_is_true(json_object_get(o, "truncated")));
	ck_assert_int_eq(num(o, "truncated_at"), 5);
	ck_assert_int_eq(num(o, "tail_from"), 30);
	transcript_free(&t);
	json_decref(o);
}
END_TEST

START_TEST(the_ring_keeps_the_latest_bytes_in_order_across_writes)
{
	struct transcript t;
	json_t *o = json_object();

	/* Odd cap: the head gets the larger half (4), the tail 3. */
	ck_assert_int_eq(transcript_init(&t, 7), 0);
	transcript_add(&t, "abcd", 4);
	transcript_add(&t, "ef", 2);
	transcript_add(&t, "gh", 2);
	transcript_add(&t, "i", 1);
	transcript_add(&t, "jk", 2);
	to_json(&t, o);
	ck_assert_str_eq(str(o, "transcript"), "abcd");
	ck_assert_str_eq(str(o, "transcript_tail"), "ijk");
	ck_assert_int_eq(num(o, "tail_from"), 8);
	/* One write far longer than the cap keeps its own end. */
	transcript_add(&t, "0123456789xyz", 13);
	json_object_clear(o);
	to_json(&t, o);
	ck_assert_str_eq(str(o, "transcript_tail"), "xyz");
	ck_assert_int_eq(num(o, "transcript_bytes"), 24);
	transcript_free(&t);
	json_decref(o);
}
END_TEST

/* After the close row's fields were taken, the ring goes on keeping the latest bytes. */
START_TEST(adding_goes_on_after_the_fields_were_taken)
{
	struct transcript t;
	json_t *o = json_object();

	ck_assert_int_eq(transcript_init(&t, 8), 0);   /* 4 of head, a ring of 4 */
	transcript_add(&t, "abcd", 4);
	transcript_add(&t, "efghij", 6);               /* the ring went round: ghij */
	to_json(&t, o);
	ck_assert_str_eq(str(o, "transcript_tail"), "ghij");
	transcript_add(&t, "kl", 2);
	json_object_clear(o);
	to_json(&t, o);
	ck_assert_str_eq(str(o, "transcript"), "abcd");
	ck_assert_str_eq(str(o, "transcript_tail"), "ijkl");
	ck_assert_int_eq(num(o, "tail_from"), 8);
	transcript_free(&t);
	json_decref(o);
}
END_TEST

static long status_kib(const char *field)
{
	char line[128];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof line, f))
		if (strncmp(line, field, strlen(field)) == 0 && line[strlen(field)] == ':')
			kib = strtol(line + strlen(field) + 1, NULL, 10);
	fclose(f);
	ck_assert_int_ge(kib, 0);
	return kib;
}

/* A session's close past the cap costs the escaped text and nothing more: 32 MiB kept (cap)
 * of 64 MiB seen raise this process's peak RSS by the 32 MiB of JSON text and less than
 * 4 MiB besides (before: a third copy of the kept bytes, 32 MiB more). */
START_TEST(closing_past_the_cap_copies_the_kept_bytes_only_into_the_text)
{
	enum { CAP = 32 << 20 };
	static char chunk[65536];
	struct transcript t;
	struct buf members;
	json_t *o = json_object();
	FILE *clear;
	long before;

	memset(chunk, 'a', sizeof chunk);
	ck_assert_int_eq(transcript_init(&t, CAP), 0);
	for (int i = 0; i < 2 * CAP / (int)sizeof chunk; i++)
		transcript_add(&t, chunk, sizeof chunk);
	transcript_add(&t, "x", 1);                     /* the ring does not end at its end */
	buf_init(&members, 2 * CAP);
	ck_assert_ptr_nonnull(buf_room(&members, CAP + 64)); /* room, not yet touched */
	clear = fopen("/proc/self/clear_refs", "w");
	ck_assert_ptr_nonnull(clear);
	ck_assert_int_eq(fputs("5", clear) >= 0, 1);     /* VmHWM from here */
	ck_assert_int_eq(fclose(clear), 0);
	before = status_kib("VmRSS");
	ck_assert_int_eq(transcript_to_json(&t, o, &members), 0);
	ck_assert_uint_ge(members.len, CAP);
	ck_assert_int_le(status_kib("VmHWM") - before, CAP / 1024 + 4096);
	ck_assert_int_eq(members.data[members.len - 2], 'x');
	buf_free(&members);
	transcript_free(&t);
	json_decref(o);
}
END_TEST

START_TEST(the_tail_starts_at_a_character)
{
	struct transcript t;
	json_t *o = json_object();

	/* "é" is C3 A9: a tail of 3 bytes that starts on A9 skips it. */
	ck_assert_int_eq(transcript_init(&t, 6), 0);
	transcript_add(&t, "abc", 3);
	transcript_add(&t, "zzzz\xc3\xa9xy", 8);
	to_json(&t, o);
	ck_assert_str_eq(str(o, "transcript_tail"), "xy");
	ck_assert_int_eq(num(o, "tail_from"), 9);
	transcript_free(&t);
	json_decref(o);
}
END_TEST

START_TEST(join_marks_the_gap)
{
	struct transcript t;
	size_t len;
	char *text;

	ck_assert_int_eq(transcript_init(&t, 8), 0);
	transcript_add(&t, "ab", 2);
	text = transcript_join(&t, "\n", &len);
	ck_assert_str_eq(text, "ab");
	free(text);
	transcript_add(&t, "cdefghijkl", 10);
	text = transcript_join(&t, "\n", &len);
	ck_assert_str_eq(text, "abcd\nijkl");
	ck_assert_uint_eq(len, 9);
	free(text);
	transcript_free(&t);
}
END_TEST

/* What jansson writes for the same bytes made valid UTF-8 (utf8_sanitize + json_dumps),
 * the reference the fast escape must match byte for byte. */
static char *jansson_text(const unsigned char *data, size_t len)
{
	size_t n;
	char *clean = utf8_sanitize(data, len, &n), *text;
	json_t *s = json_stringn(clean, n);

	text = json_dumps(s, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(s);
	free(clean);
	return text;
}

static void escapes_as_jansson(const unsigned char *data, size_t len)
{
	struct buf b;
	char *want = jansson_text(data, len);

	buf_init(&b, 1 << 20);
	ck_assert_int_eq(json_escape_sanitized(&b, data, len), 0);
	ck_assert_ptr_nonnull(want);
	ck_assert_uint_eq(b.len, strlen(want));
	ck_assert_mem_eq(b.data, want, b.len);
	free(want);
	buf_free(&b);
}

START_TEST(text_is_escaped_byte_for_byte_as_jansson_escapes_it)
{
	static const char *const cases[] = {
		"", "plain ascii, long enough for whole words: 0123456789abcdef",
		"quote \" backslash \\ slash / del \x7f", "\b\f\n\r\t\x01\x1b[0m\x1f",
		"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 end",
		"bad \xff \xc3 \xe2\x82 \xed\xa0\x80 \xf4\x90\x80\x80 \xc0\xaf",
		"ends inside a sequence \xe2\x82",
	};
	unsigned char bytes[9000];
	unsigned state = 12345;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		escapes_as_jansson((const unsigned char *)cases[i], strlen(cases[i]));
	/* NUL, which jansson never sees (utf8_sanitize replaces it). */
	escapes_as_jansson((const unsigned char *)"a\0b", 3);
	/* Every byte value, at every offset of a word, across the 4096-byte blocks. */
	for (int round = 0; round < 200; round++) {
		size_t len = (size_t)(round * 45) % sizeof bytes;
		for (size_t i = 0; i < len; i++) {
			state = state * 1103515245u + 12345u;
			/* Mostly text, some controls, quotes and high bytes. */
			bytes[i] = (state >> 16) % 4 ? (unsigned char)(0x20 + (state >> 8) % 95)
						     : (unsigned char)(state >> 20);
		}
		escapes_as_jansson(bytes, len);
	}
}
END_TEST

START_TEST(plain_prefix_stops_at_the_first_byte_to_escape)
{
	unsigned char text[40];

	memset(text, 'a', sizeof text);
	ck_assert_uint_eq(json_plain_prefix(text, sizeof text), sizeof text);
	for (size_t at = 0; at < sizeof text; at++) {
		static const unsigned char stops[] = { '"', '\\', 0x00, 0x1f, 0x80, 0xff };
		for (size_t k = 0; k < sizeof stops; k++) {
			text[at] = stops[k];
			ck_assert_uint_eq(json_plain_prefix(text, sizeof text), at);
		}
		text[at] = 0x7f; /* DEL needs no escape in JSON */
		ck_assert_uint_eq(json_plain_prefix(text, sizeof text), sizeof text);
		text[at] = 'a';
	}
}
END_TEST

static Suite *transcript_suite(void)
{
	Suite *s = suite_create("transcript");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, everything_while_it_fits);
	tcase_add_test(tc, head_and_tail_past_the_cap);
	tcase_add_test(tc, the_ring_keeps_the_latest_bytes_in_order_across_writes);
	tcase_add_test(tc, the_tail_starts_at_a_character);
	tcase_add_test(tc, adding_goes_on_after_the_fields_were_taken);
	tcase_add_test(tc, closing_past_the_cap_copies_the_kept_bytes_only_into_the_text);
	tcase_add_test(tc, join_marks_the_gap);
	tcase_add_test(tc, text_is_escaped_byte_for_byte_as_jansson_escapes_it);
	tcase_add_test(tc, plain_prefix_stops_at_the_first_byte_to_escape);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(transcript_suite)
