#include "aws/aws_retry.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static bool code_in(const char *code, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(code, *list))
			return true;
	return false;
}

/* aws-sdk-go-v2 aws/retry/standard.go DefaultThrottleErrorCodes, plus the spelling
 * "TooManyRequests" some gateways answer. */
static const char *const throttle_codes[] = {
	"Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
	"TooManyRequestsException", "TooManyRequests", "ProvisionedThroughputExceededException",
	"TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
	"LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
	"EC2ThrottledException", NULL,
};

/* standard.go DefaultRetryableErrorCodes; IDPCommunicationError from botocore's
 * _retry.json (sts "idp_unreachable_error"): STS could not reach the IdP's JWKS. */
static const char *const transient_codes[] = {
	"RequestTimeout", "RequestTimeoutException", "IDPCommunicationError",
	"InternalFailure", "InternalServerError", "InternalError", "ServiceUnavailable",
	"ServiceUnavailableException", NULL,
};

/* aws-sdk-js-v3 service-error-classification CLOCK_SKEW_ERROR_CODES. */
static const char *const skew_codes[] = {
	"AuthFailure", "InvalidSignatureException", "RequestExpired", "RequestInTheFuture",
	"RequestTimeTooSkewed", "SignatureDoesNotMatch", NULL,
};

time_t aws_clock_now(const struct aws_clock *clock, time_t fixed)
{
	time_t now = fixed ? fixed : time(NULL);

	return clock ? now + clock->offset_s : now;
}

bool aws_retry_is_retryable(const struct aws_error *e, bool transport_retryable)
{
	if (!strcmp(e->code, AWS_ERR_TRANSPORT))
		return transport_retryable;
	if (code_in(e->code, throttle_codes) || code_in(e->code, transient_codes))
		return true;
	/* standard.go DefaultRetryableHTTPStatusCodes */
	return e->http_status == 500 || e->http_status == 502 || e->http_status == 503 ||
	       e->http_status == 504;
}

bool aws_retry_is_clock_skew_code(const char *code)
{
	return code_in(code, skew_codes);
}

long aws_retry_backoff_ms(int failed, double rand01)
{
	long cap = 1000;

	if (failed < 1)
		failed = 1;
	if (rand01 < 0 || rand01 >= 1)
		rand01 = 0.5;
	for (int i = 1; i < failed && cap < AWS_RETRY_MAX_BACKOFF_MS; i++)
		cap *= 2;
	if (cap > AWS_RETRY_MAX_BACKOFF_MS)
		cap = AWS_RETRY_MAX_BACKOFF_MS;
	return (long)(rand01 * (double)cap);
}

double aws_retry_rand01(void)
{
	uint64_t r;

	if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
		return 0.5;
	return (double)(r >> 11) / (double)(UINT64_C(1) << 53);
}

bool aws_clock_correct(struct aws_clock *clock, const struct aws_error *e,
		       const char *date_header, time_t local_now)
{
	time_t server;
	long diff;

	if (!clock || clock->corrected || !aws_retry_is_clock_skew_code(e->code) ||
	    !date_header || !*date_header)
		return false;
	server = curl_getdate(date_header, NULL);
	if (server == (time_t)-1)
		return false;
	diff = (long)(server - local_now);
	if (labs(diff) < AWS_CLOCK_SKEW_THRESHOLD_S)
		return false;
	clock->offset_s = diff;
	clock->corrected = true;
	return true;
}

void aws_retry_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L }, rem;

	while (ms > 0 && nanosleep(&ts, &rem) != 0 && errno == EINTR)
		ts = rem;
}
