/* The SSM JSON 1.1 calls of the node shell (ssm-protocol.md §C): StartSession,
 * TerminateSession, DescribeInstanceInformation, signed with SigV4 (service "ssm") using
 * ONLY the credentials in the client struct (from STS). Nothing is read from the
 * environment, profiles, files or instance metadata. */
#ifndef PERISCOPE_SSM_API_H
#define PERISCOPE_SSM_API_H

#include "metrics/upstream_tally.h"
#include <stddef.h>
#include <time.h>

#include "aws/aws_errors.h"
#include "aws/aws_retry.h"
#include "aws/sigv4.h"
#include "aws/ssm_json.h"

struct ssm_client {
	const char *endpoint;                 /* full URL, e.g. "https://ssm.eu-west-1.amazonaws.com" */
	const char *region;                   /* always explicit */
	const struct aws_credentials *creds;  /* from STS; the only credentials ever used */
	const char *ca_file;                  /* NULL = system CAs */
	long timeout_ms;                      /* 0 = default */
	time_t fixed_time;                    /* signing time for tests; 0 = now */
	struct aws_clock *clock;              /* AWS's clock offset, learnt once and kept by the
	                                       * caller; NULL = learnt per call */
	int max_attempts;                     /* 0 = AWS_RETRY_MAX_ATTEMPTS */
	struct upstream_tally *tally;         /* each attempt counted (service ssm), or NULL */
};

/* "https://ssm.<region>.amazonaws.com" (".cn" suffix in cn-* regions). 0 or -1. */
int ssm_default_endpoint(const char *region, char *out, size_t outlen);

/* Each call: 0 on success; -1 with aerr (AWS's normalised code and message, or
 * Transport / BadResponse) and err "SSM <Op>: <code>: <message>" (never a secret). */
int ssm_start_session(const struct ssm_client *c, const char *target,
		      const char *document_name, const char *reason, struct ssm_started_session *out,
		      struct aws_error *aerr, char *err, size_t errlen);
int ssm_terminate_session(const struct ssm_client *c, const char *session_id,
			  struct aws_error *aerr, char *err, size_t errlen);
/* ResumeSession after the data channel dropped: a new TokenValue and StreamUrl for the same
 * session (out->token_value "" when the session is gone). */
int ssm_resume_session(const struct ssm_client *c, const char *session_id,
		       struct ssm_started_session *out, struct aws_error *aerr, char *err,
		       size_t errlen);
int ssm_describe_instance(const struct ssm_client *c, const char *instance_id,
			  struct ssm_instance_info *out, struct aws_error *aerr, char *err,
			  size_t errlen);

/* One signed JSON 1.1 call (X-Amz-Target: AmazonSSM.<operation>): the building block of
 * the three above. On 200, *body_out is the answer (malloc'd); otherwise -1 and aerr.
 * Throttling, 5xx and broken connections are tried again with jittered backoff, and a
 * clock-skew refusal once after correcting the clock from the Date header
 * (lib/aws/aws_retry.h); at most max_attempts attempts in all. */
int ssm_call(const struct ssm_client *c, const char *operation, const char *body,
	     char **body_out, size_t *len_out, struct aws_error *aerr);
/* The same for any JSON 1.1 service: SigV4 for `service` ("kms"), X-Amz-Target `target`
 * ("TrentService.GenerateDataKey"), to c->endpoint. */
int aws_json_call(const struct ssm_client *c, const char *service, const char *target,
		  const char *body, char **body_out, size_t *len_out, struct aws_error *aerr);

#endif
