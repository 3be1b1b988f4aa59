/* The bridge's write pacing towards websocketd (lib/shell/out_batch.h): output after a
 * quiet spell (a keystroke's echo, a prompt) leaves at once; output that streams leaves at
 * most once per OUT_BATCH_US, or as soon as OUT_BATCH_BYTES are queued. */
#include "shell/out_batch.h"
#include "unit.h"

/* A clock reading well past zero, as CLOCK_MONOTONIC gives after boot. */
#define T0 5000000000LL

START_TEST(nothing_queued_waits_for_nothing)
{
	ck_assert_int_eq(out_batch_wait_us(T0, 0, 0), -1);
	ck_assert_int_eq(out_batch_wait_us(T0, T0 - 1, 0), -1);
}
END_TEST

START_TEST(the_first_write_leaves_at_once)
{
	ck_assert_int_eq(out_batch_wait_us(T0, 0, 1), 0);
	ck_assert_int_eq(out_batch_wait_us(T0, 0, 4096), 0);
}
END_TEST

/* A keystroke's echo after a quiet spell: one byte, the last write 2 ms or more ago. */
START_TEST(an_echo_after_a_quiet_spell_leaves_at_once)
{
	ck_assert_int_eq(out_batch_wait_us(T0, T0 - 2000, 1), 0);
	ck_assert_int_eq(out_batch_wait_us(T0, T0 - 100000, 1), 0);
	ck_assert_int_eq(out_batch_wait_us(T0, T0 - 1000000, 60), 0);
}
END_TEST

START_TEST(output_within_the_window_waits_for_its_end)
{
	ck_assert_int_eq(out_batch_wait_us(T0, T0, 1), 2000);
	ck_assert_int_eq(out_batch_wait_us(T0, T0 - 1, 4096), 1999);
	ck_assert_int_eq(out_batch_wait_us(T0, T0 - 1999, 4096), 1);
	ck_assert_int_eq(out_batch_wait_us(T0, T0 - 2000, 4096), 0);
	ck_assert_int_eq(out_batch_wait_us(T0, T0 - 2001, 4096), 0);
}
END_TEST

START_TEST(a_full_batch_leaves_at_once)
{
	ck_assert_int_eq(out_batch_wait_us(T0, T0, (64u << 10) - 1), 2000);
	ck_assert_int_eq(out_batch_wait_us(T0, T0, 64u << 10), 0);
	ck_assert_int_eq(out_batch_wait_us(T0, T0 - 1, (64u << 10) + 1), 0);
	ck_assert_int_eq(out_batch_wait_us(T0, T0, 16u << 20), 0);
}
END_TEST

/* The main loop's poll: it wakes when held output is due, never before (rounded up to the
 * next millisecond), and never later than its own timers ask. */
START_TEST(the_poll_wakes_when_held_output_is_due)
{
	ck_assert_int_eq(out_batch_timeout_ms(-1, 1000), 1000);
	ck_assert_int_eq(out_batch_timeout_ms(0, 1000), 1000);
	ck_assert_int_eq(out_batch_timeout_ms(-1, -1), -1);
	ck_assert_int_eq(out_batch_timeout_ms(1, 1000), 1);
	ck_assert_int_eq(out_batch_timeout_ms(1000, 1000), 1);
	ck_assert_int_eq(out_batch_timeout_ms(1001, 1000), 2);
	ck_assert_int_eq(out_batch_timeout_ms(2000, 1000), 2);
	ck_assert_int_eq(out_batch_timeout_ms(2000, -1), 2);
	ck_assert_int_eq(out_batch_timeout_ms(2000, 1), 1);
	ck_assert_int_eq(out_batch_timeout_ms(2000, 0), 0);
}
END_TEST

static Suite *out_batch_suite(void)
{
	Suite *s = suite_create("out_batch");
	TCase *tc = tcase_create("pacing");

	tcase_add_test(tc, nothing_queued_waits_for_nothing);
	tcase_add_test(tc, the_first_write_leaves_at_once);
	tcase_add_test(tc, an_echo_after_a_quiet_spell_leaves_at_once);
	tcase_add_test(tc, output_within_the_window_waits_for_its_end);
	tcase_add_test(tc, a_full_batch_leaves_at_once);
	tcase_add_test(tc, the_poll_wakes_when_held_output_is_due);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(out_batch_suite)
