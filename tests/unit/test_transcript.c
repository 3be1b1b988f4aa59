/* The close row's transcript: everything while it fits; past the cap the first half and
 * the last half, with the offsets of the cut. */
#include <stdlib.h>
#include <string.h>

#include "shell/transcript.h"
#include "unit.h"

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
	transcript_to_json(&t, o);
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
	transcript_to_json(&t, o);
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
	transcript_to_json(&t, o);
	ck_assert_str_eq(str(o, "transcript"), "abcd");
	ck_assert_str_eq(str(o, "transcript_tail"), "ijk");
	ck_assert_int_eq(num(o, "tail_from"), 8);
	/* One write far longer than the cap keeps its own end. */
	transcript_add(&t, "0123456789xyz", 13);
	json_object_clear(o);
	transcript_to_json(&t, o);
	ck_assert_str_eq(str(o, "transcript_tail"), "xyz");
	ck_assert_int_eq(num(o, "transcript_bytes"), 24);
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
	transcript_to_json(&t, o);
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

static Suite *transcript_suite(void)
{
	Suite *s = suite_create("transcript");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, everything_while_it_fits);
	tcase_add_test(tc, head_and_tail_past_the_cap);
	tcase_add_test(tc, the_ring_keeps_the_latest_bytes_in_order_across_writes);
	tcase_add_test(tc, the_tail_starts_at_a_character);
	tcase_add_test(tc, join_marks_the_gap);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(transcript_suite)
