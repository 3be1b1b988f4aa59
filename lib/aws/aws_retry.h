/* Retries of AWS API calls, bounded like the SDKs' "standard" retry mode, and the clock
 * skew correction they do from a response's Date header.
 *
 * - What is retried: throttling codes, transient codes (RequestTimeout, 5xx statuses,
 *   IDPCommunicationError for STS) and connection failures (aws-sdk-go-v2
 *   aws/retry/standard.go DefaultRetryables, DefaultThrottleErrorCodes,
 *   DefaultRetryableHTTPStatusCodes; retryable_error.go RetryableConnectionError; botocore
 *   _retry.json "idp_unreachable_error" for sts).
 * - How often: 3 attempts in all (standard.go DefaultMaxAttempts).
 * - How long between: full jitter, rand[0,1) * min(2^(n-1), 20) seconds before attempt n+1
 *   (botocore retries/standard.py ExponentialBackoff.delay_amount; MaxBackoff 20 s as in
 *   standard.go DefaultMaxBackoff).
 * - Clock skew: an error in the SDKs' clock-skew list (aws-sdk-js-v3
 *   service-error-classification constants.ts CLOCK_SKEW_ERROR_CODES) whose Date header
 *   is 5 minutes or more away from the local clock sets an offset that every later
 *   signature uses, and the call is tried again, once. */
#ifndef PERISCOPE_AWS_RETRY_H
#define PERISCOPE_AWS_RETRY_H

#include <stdbool.h>
#include <time.h>

#include "aws/aws_errors.h"

#define AWS_RETRY_MAX_ATTEMPTS 3
#define AWS_RETRY_MAX_BACKOFF_MS 20000L
#define AWS_CLOCK_SKEW_THRESHOLD_S 300

/* The offset between AWS's clock and ours, kept by the caller for as long as it talks to
 * AWS (a session's wsbridge process), so the correction is learnt once. */
struct aws_clock {
	long offset_s;      /* AWS time = local time + offset_s */
	bool corrected;     /* an offset was taken from a Date header already */
};

/* Now as AWS sees it: time(NULL) (or fixed, when non-zero) plus the clock's offset. */
time_t aws_clock_now(const struct aws_clock *clock, time_t fixed);

/* True for an error worth another attempt. transport_retryable: the request failed on the
 * way (reset, refused, timed out) rather than being refused by TLS or too large. */
bool aws_retry_is_retryable(const struct aws_error *e, bool transport_retryable);

/* True for the codes AWS answers when the request's time is too far from its own. */
bool aws_retry_is_clock_skew_code(const char *code);

/* The backoff before attempt `failed + 1`, failed >= 1, for a uniform rand01 in [0,1). */
long aws_retry_backoff_ms(int failed, double rand01);

/* A uniform double in [0,1) from getrandom (0.5 if it fails). */
double aws_retry_rand01(void);

/* Learns the offset from an HTTP Date header (RFC 7231 IMF-fixdate) when the error is a
 * clock-skew code, the clock was not corrected yet and the date is at least
 * AWS_CLOCK_SKEW_THRESHOLD_S away from local_now. True when it did (retry once). */
bool aws_clock_correct(struct aws_clock *clock, const struct aws_error *e,
		       const char *date_header, time_t local_now);

/* Sleeps ms milliseconds (restarting after signals). */
void aws_retry_sleep_ms(long ms);

#endif
