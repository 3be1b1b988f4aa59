#include "k8s/k8s_watch.h"
#include "unit.h"

/* reflector.go: NewExponentialBackoffManager(800ms, 30s, 2m, 2.0, jitter 1.0). */
START_TEST(watch_backoff_doubles_to_thirty_seconds_with_jitter)
{
	ck_assert_int_eq(k8s_watch_backoff_ms(0, 0.0), 800);
	ck_assert_int_eq(k8s_watch_backoff_ms(1, 0.0), 1600);
	ck_assert_int_eq(k8s_watch_backoff_ms(2, 0.0), 3200);
	ck_assert_int_eq(k8s_watch_backoff_ms(5, 0.0), 25600);
	ck_assert_int_eq(k8s_watch_backoff_ms(6, 0.0), 30000);
	ck_assert_int_eq(k8s_watch_backoff_ms(40, 0.0), 30000);
	ck_assert_int_eq(k8s_watch_backoff_ms(0, 0.5), 1200);
	ck_assert_int_lt(k8s_watch_backoff_ms(40, 0.9999), 60000);
}
END_TEST

static Suite *k8s_watch_suite(void)
{
	Suite *s = suite_create("k8s_watch");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, watch_backoff_doubles_to_thirty_seconds_with_jitter);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(k8s_watch_suite)
