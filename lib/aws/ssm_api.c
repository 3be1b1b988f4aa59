#include "aws/ssm_api.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/aws_http.h"
#include "aws/aws_retry.h"
#include "core/buf.h"
#include "aws/sts_xml.h"

#define SSM_CONTENT_TYPE "application/x-amz-json-1.1"
#define HEADER_MAX (64 * 1024)

int ssm_default_endpoint(const char *region, char *out, size_t outlen)
{
	int n;

	if (!region || !*region ||
	    strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(region))
		return -1;
	n = snprintf(out, outlen, "https://ssm.%s.amazonaws.com%s", region,
		     !strncmp(region, "cn-", 3) ? ".cn" : "");
	return n > 0 && (size_t)n < outlen ? 0 : -1;
}

static bool has_control_chars(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static char *header_line(const char *name, const char *value)
{
	struct buf b;

	buf_init(&b, HEADER_MAX);
	if (buf_printf(&b, "%s: %s", name, value) != 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

/* One attempt, signed at `now`. On failure *date_out holds the answer's Date header and
 * *transient whether the connection broke on the way. */
static int call_once(const struct ssm_client *c, const char *service, const char *target,
		     const char *body, time_t now, char **body_out, size_t *len_out,
		     struct aws_error *aerr, char date_out[64], bool *transient)
{
	struct aws_endpoint ep = { 0 };
	struct sigv4_result sr = { 0 };
	struct aws_http_response resp;
	char date[17], msg[256];
	char *lines[7] = { 0 };
	const char *hl[8] = { 0 };
	size_t nl = 0;
	int rc = -1;

	*body_out = NULL;
	*len_out = 0;
	*transient = false;
	date_out[0] = '\0';
	aws_error_set(aerr, "", "", 0);
	aws_http_response_init(&resp);
	if (!c->creds || !c->creds->access_key_id || !c->creds->secret_access_key ||
	    !c->region || !*c->region) {
		aws_error_set(aerr, "InvalidParameter", "credentials and region are required", 0);
		goto fail;
	}
	/* The token goes into a header line: a CR or LF in it would split the request. */
	if (has_control_chars(c->creds->access_key_id) ||
	    has_control_chars(c->creds->secret_access_key) ||
	    (c->creds->session_token && has_control_chars(c->creds->session_token))) {
		aws_error_set(aerr, "InvalidParameter", "credentials contain control characters", 0);
		goto fail;
	}
	if (aws_endpoint_parse(c->endpoint, &ep, msg, sizeof msg) != 0) {
		aws_error_set(aerr, "InvalidParameter", msg, 0);
		goto fail;
	}
	if (sigv4_format_amz_date(now, date) != 0)
		goto internal;
	{
		/* What botocore signs for JSON 1.1 (ssm-protocol.md §A.3). */
		struct sigv4_header signed_headers[] = {
			{ "Content-Type", SSM_CONTENT_TYPE },
			{ "Host", ep.host_header },
			{ "X-Amz-Target", target },
		};
		struct sigv4_request sreq = {
			.method = "POST", .path = ep.path, .normalize_path = true,
			.headers = signed_headers, .header_count = 3,
			.body = body, .body_len = strlen(body),
		};
		struct sigv4_signing sig = { .creds = c->creds, .region = c->region,
					     .service = service, .amz_date = date };

		if (sigv4_sign_headers(&sreq, &sig, &sr, msg, sizeof msg) != 0) {
			aws_error_set(aerr, "InvalidParameter", msg, 0);
			goto fail;
		}
	}
	/* Host is set explicitly so that what is sent is exactly what was signed. */
	if (!(lines[nl++] = header_line("Host", ep.host_header)) ||
	    !(lines[nl++] = header_line("Content-Type", SSM_CONTENT_TYPE)) ||
	    !(lines[nl++] = header_line("X-Amz-Target", target)) ||
	    !(lines[nl++] = header_line("X-Amz-Date", date)) ||
	    !(lines[nl++] = header_line("Authorization", sr.authorization)) ||
	    !(lines[nl++] = header_line("Accept", SSM_CONTENT_TYPE)))
		goto internal;
	if (c->creds->session_token && *c->creds->session_token &&
	    !(lines[nl++] = header_line("X-Amz-Security-Token", c->creds->session_token)))
		goto internal;
	for (size_t i = 0; i < nl; i++)
		hl[i] = lines[i];
	{
		struct aws_http_request hreq = {
			.url = c->endpoint, .headers = hl, .body = body, .body_len = strlen(body),
			.ca_file = c->ca_file, .timeout_ms = c->timeout_ms,
			.max_response = SSM_JSON_MAX_BYTES,
			.tally = c->tally, .service = UPSTREAM_SSM,
		};

		if (aws_http_post(&hreq, &resp, msg, sizeof msg) != 0) {
			aws_error_set(aerr, AWS_ERR_TRANSPORT, msg, 0);
			*transient = resp.transient;
			goto fail;
		}
	}
	snprintf(date_out, 64, "%s", resp.date);
	if (resp.status != 200) {
		/* JSON 1.1 errors are JSON; an XML error document can still come from a proxy
		 * or a fake in front of the service (moto answers signature errors in XML). */
		const char *p = resp.body.data ? resp.body.data : "";

		aerr->http_status = resp.status;
		p += strspn(p, " \t\r\n");
		if (*p != '<' || sts_parse_error_response(resp.body.data, resp.body.len, aerr) != 0)
			ssm_parse_error(resp.body.data, resp.body.len, resp.error_type, resp.status,
					aerr);
		goto fail;
	}
	*len_out = resp.body.len;
	*body_out = buf_steal(&resp.body);
	rc = 0;
	goto done;
internal:
	aws_error_set(aerr, "InternalError", "out of memory building the request", 0);
fail:
done:
	for (size_t i = 0; i < nl; i++) {
		if (lines[i])
			explicit_bzero(lines[i], strlen(lines[i]));
		free(lines[i]);
	}
	if (resp.body.data)
		explicit_bzero(resp.body.data, resp.body.len);
	aws_http_response_free(&resp);
	sigv4_result_free(&sr);
	aws_endpoint_free(&ep);
	return rc;
}

int ssm_call(const struct ssm_client *c, const char *operation, const char *body,
	     char **body_out, size_t *len_out, struct aws_error *aerr)
{
	char target[128];

	snprintf(target, sizeof target, "AmazonSSM.%s", operation);
	return aws_json_call(c, "ssm", target, body, body_out, len_out, aerr);
}

int aws_json_call(const struct ssm_client *c, const char *service, const char *target,
		  const char *body, char **body_out, size_t *len_out, struct aws_error *aerr)
{
	struct aws_clock local = { 0 };
	struct aws_clock *clock = c->clock ? c->clock : &local;
	int max = c->max_attempts > 0 ? c->max_attempts : AWS_RETRY_MAX_ATTEMPTS;

	for (int attempt = 1;; attempt++) {
		char date[64];
		bool transient;

		if (call_once(c, service, target, body, aws_clock_now(clock, c->fixed_time),
			      body_out, len_out, aerr, date, &transient) == 0)
			return 0;
		if (attempt >= max)
			return -1;
		/* A wrong local clock: AWS's Date header says by how much, once. */
		if (!c->fixed_time && aws_clock_correct(clock, aerr, date, time(NULL)))
			continue;
		if (!aws_retry_is_retryable(aerr, transient))
			return -1;
		aws_retry_sleep_ms(aws_retry_backoff_ms(attempt, aws_retry_rand01()));
	}
}

static void report(const char *op, const struct aws_error *aerr, char *err, size_t errlen)
{
	char line[700];

	aws_error_format(aerr, line, sizeof line);
	if (err && errlen)
		snprintf(err, errlen, "SSM %s: %s", op, line);
}

/* Body built, call made, answer parsed by `parse`; the common path of the three calls. */
static int call_and_parse(const struct ssm_client *c, const char *op, char *body,
			  int (*parse)(const char *, size_t, void *, char *, size_t), void *out,
			  struct aws_error *aerr, char *err, size_t errlen)
{
	char *answer = NULL, msg[256];
	size_t len = 0;
	int rc = -1;

	aws_error_set(aerr, "", "", 0);
	if (!body) {
		aws_error_set(aerr, "InvalidParameter", "missing or invalid argument", 0);
		goto fail;
	}
	if (ssm_call(c, op, body, &answer, &len, aerr) != 0)
		goto fail;
	if (parse(answer, len, out, msg, sizeof msg) != 0) {
		aws_error_set(aerr, AWS_ERR_BAD_RESPONSE, msg, 200);
		goto fail;
	}
	rc = 0;
	goto done;
fail:
	report(op, aerr, err, errlen);
done:
	if (answer)
		explicit_bzero(answer, len);
	free(answer);
	free(body);
	return rc;
}

static int parse_start(const char *json, size_t len, void *out, char *err, size_t errlen)
{
	return ssm_parse_start_session(json, len, out, err, errlen);
}

static int parse_terminate(const char *json, size_t len, void *out, char *err, size_t errlen)
{
	char *id = NULL;
	int rc = ssm_parse_terminate_session(json, len, &id, err, errlen);

	(void)out;
	free(id);
	return rc;
}

static int parse_describe(const char *json, size_t len, void *out, char *err, size_t errlen)
{
	return ssm_parse_describe_instance(json, len, out, err, errlen);
}

int ssm_start_session(const struct ssm_client *c, const char *target,
		      const char *document_name, const char *reason, struct ssm_started_session *out,
		      struct aws_error *aerr, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	return call_and_parse(c, "StartSession", ssm_start_session_body(target, document_name, reason),
			      parse_start, out, aerr, err, errlen);
}

int ssm_terminate_session(const struct ssm_client *c, const char *session_id,
			  struct aws_error *aerr, char *err, size_t errlen)
{
	return call_and_parse(c, "TerminateSession", ssm_terminate_session_body(session_id),
			      parse_terminate, NULL, aerr, err, errlen);
}

static int parse_resume(const char *json, size_t len, void *out, char *err, size_t errlen)
{
	return ssm_parse_resume_session(json, len, out, err, errlen);
}

int ssm_resume_session(const struct ssm_client *c, const char *session_id,
		       struct ssm_started_session *out, struct aws_error *aerr, char *err,
		       size_t errlen)
{
	memset(out, 0, sizeof *out);
	/* Same body as TerminateSession: {"SessionId": …}. */
	return call_and_parse(c, "ResumeSession", ssm_terminate_session_body(session_id),
			      parse_resume, out, aerr, err, errlen);
}

int ssm_describe_instance(const struct ssm_client *c, const char *instance_id,
			  struct ssm_instance_info *out, struct aws_error *aerr, char *err,
			  size_t errlen)
{
	memset(out, 0, sizeof *out);
	return call_and_parse(c, "DescribeInstanceInformation",
			      ssm_describe_instance_body(instance_id), parse_describe, out, aerr,
			      err, errlen);
}
