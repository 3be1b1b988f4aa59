/* The retry policy of AWS calls (lib/aws/aws_retry.c): what is retried, how long between
 * attempts, and the clock-skew correction from a Date header. */
#include <string.h>

#include "aws/aws_retry.h"
#include "unit.h"

struct row {
	const char *code;
	long status;
	bool transport_retryable;
	bool want;
};

static const struct row rows[] = {
	{ "ThrottlingException", 400, false, true },
	{ "Throttling", 400, false, true },
	{ "TooManyRequestsException", 400, false, true },
	{ "TooManyRequests", 429, false, true },
	{ "RequestLimitExceeded", 400, false, true },
	{ "IDPCommunicationError", 400, false, true },
	{ "RequestTimeout", 400, false, true },
	{ "InternalServerError", 500, false, true },
	{ "HTTPError", 502, false, true },
	{ "ServiceUnavailable", 503, false, true },
	{ "HTTPError", 504, false, true },
	{ "Transport", 0, true, true },
	/* A refused certificate or a too-large answer will not change on a new attempt. */
	{ "Transport", 0, false, false },
	{ "AccessDeniedException", 400, false, false },
	{ "AccessDenied", 403, false, false },
	{ "ExpiredTokenException", 400, false, false },
	{ "InvalidIdentityToken", 400, false, false },
	{ "ValidationError", 400, false, false },
	{ "TargetNotConnected", 400, false, false },
	{ "HTTPError", 501, false, false },
	{ "InvalidSignatureException", 400, false, false },
};

START_TEST(what_is_retried)
{
	const struct row *r = &rows[_i];
	struct aws_error e;

	aws_error_set(&e, r->code, "m", r->status);
	ck_assert_msg(aws_retry_is_retryable(&e, r->transport_retryable) == r->want,
		      "%s/%ld: want %d", r->code, r->status, r->want);
}
END_TEST

START_TEST(backoff_is_full_jitter_doubling_to_twenty_seconds)
{
	/* rand * min(2^(n-1), 20) s before attempt n+1. */
	ck_assert_int_eq(aws_retry_backoff_ms(1, 0.0), 0);
	ck_assert_int_eq(aws_retry_backoff_ms(1, 0.5), 500);
	ck_assert_int_eq(aws_retry_backoff_ms(1, 0.999), 999);
	ck_assert_int_eq(aws_retry_backoff_ms(2, 0.5), 1000);
	ck_assert_int_eq(aws_retry_backoff_ms(3, 0.5), 2000);
	ck_assert_int_eq(aws_retry_backoff_ms(5, 0.5), 8000);
	ck_assert_int_eq(aws_retry_backoff_ms(6, 0.5), 10000);
	ck_assert_int_eq(aws_retry_backoff_ms(40, 0.5), 10000);
	/* Out-of-range randomness is not trusted. */
	ck_assert_int_eq(aws_retry_backoff_ms(1, 7.0), 500);
	for (int i = 0; i < 1000; i++) {
		double r = aws_retry_rand01();

		ck_assert(r >= 0.0 && r < 1.0);
	}
}
END_TEST

START_TEST(clock_is_corrected_once_from_the_date_header)
{
	struct aws_clock clock = { 0 };
	struct aws_error skew, denied;
	/* Sun, 06 Nov 1994 08:49:37 GMT = 784111777 */
	time_t local = 784111777 - 20 * 60;

	aws_error_set(&skew, "InvalidSignatureException", "Signature expired", 400);
	aws_error_set(&denied, "AccessDeniedException", "no", 400);
	/* Not a skew code, no header, an unparsable header, a small difference: nothing. */
	ck_assert(!aws_clock_correct(&clock, &denied, "Sun, 06 Nov 1994 08:49:37 GMT", local));
	ck_assert(!aws_clock_correct(&clock, &skew, NULL, local));
	ck_assert(!aws_clock_correct(&clock, &skew, "yesterday-ish", local));
	ck_assert(!aws_clock_correct(&clock, &skew, "Sun, 06 Nov 1994 08:49:37 GMT",
				     784111777 - 299));
	ck_assert_int_eq(clock.offset_s, 0);
	ck_assert(aws_clock_correct(&clock, &skew, "Sun, 06 Nov 1994 08:49:37 GMT", local));
	ck_assert_int_eq(clock.offset_s, 20 * 60);
	ck_assert(aws_clock_now(&clock, 1000) == 1000 + 20 * 60);
	/* Once: a second refusal is not corrected again. */
	ck_assert(!aws_clock_correct(&clock, &skew, "Sun, 06 Nov 1994 09:49:37 GMT", local));
	ck_assert_int_eq(clock.offset_s, 20 * 60);
	/* A clock ahead of AWS's is corrected the other way. */
	clock = (struct aws_clock){ 0 };
	aws_error_set(&skew, "RequestTimeTooSkewed", "", 403);
	ck_assert(aws_clock_correct(&clock, &skew, "Sun, 06 Nov 1994 08:49:37 GMT",
				    784111777 + 3600));
	ck_assert_int_eq(clock.offset_s, -3600);
	ck_assert(aws_retry_is_clock_skew_code("SignatureDoesNotMatch"));
	ck_assert(!aws_retry_is_clock_skew_code("ExpiredTokenException"));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("aws_retry");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, what_is_retried, 0, (int)(sizeof rows / sizeof rows[0]));
	tcase_add_test(tc, backoff_is_full_jitter_doubling_to_twenty_seconds);
	tcase_add_test(tc, clock_is_corrected_once_from_the_date_header);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(suite)
