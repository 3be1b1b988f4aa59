#include "aws/sts.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/aws_http.h"
#include "aws/aws_retry.h"
#include "core/buf.h"

#define STS_BODY_MAX (64 * 1024)
#define STS_VERSION "2011-06-15"

int sts_default_endpoint(const char *region, char *out, size_t outlen)
{
	int n;

	if (!region || !*region || strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(region))
		return -1;
	n = snprintf(out, outlen, "https://sts.%s.amazonaws.com%s", region,
		     !strncmp(region, "cn-", 3) ? ".cn" : "");
	return n > 0 && (size_t)n < outlen ? 0 : -1;
}

static bool session_name_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       strchr("_+=,.@-", c) != NULL;
}

/* Length of the UTF-8 sequence that starts with lead byte c (1 for ASCII and for bytes
 * that cannot start one: those count as one invalid character each, as in Go). */
static size_t utf8_len(unsigned char c)
{
	if (c >= 0xf0 && c <= 0xf4)
		return 4;
	if (c >= 0xe0)
		return c <= 0xef ? 3 : 1;
	if (c >= 0xc2)
		return 2;
	return 1;
}

void sts_sanitize_session_name(const char *in, char out[STS_ROLE_SESSION_NAME_MAX + 1])
{
	const unsigned char *p = (const unsigned char *)(in ? in : "");
	size_t n = 0;

	while (*p && n < STS_ROLE_SESSION_NAME_MAX) {
		size_t len = utf8_len(*p), k = 1;

		/* A multi-byte character becomes one dash; a truncated one too. */
		while (k < len && (p[k] & 0xc0) == 0x80)
			k++;
		out[n++] = (len == 1 && session_name_char(*p)) ? (char)*p : '-';
		p += k;
	}
	out[n] = '\0';
	if (n == 0)
		snprintf(out, STS_ROLE_SESSION_NAME_MAX + 1, "%s", "periscope-node-shell");
}

void sts_role_session_name(const char *sub, char out[STS_ROLE_SESSION_NAME_MAX + 1])
{
	struct buf b;

	buf_init(&b, 4096);
	if (buf_printf(&b, "periscope-%.1024s", sub ? sub : "") != 0) {
		snprintf(out, STS_ROLE_SESSION_NAME_MAX + 1, "%s", "periscope-node-shell");
		buf_free(&b);
		return;
	}
	sts_sanitize_session_name(b.data, out);
	buf_free(&b);
}

/* name=value with the value encoded like botocore's query serializer: everything but
 * A-Z a-z 0-9 - _ . ~ as %XX. */
static int form_param(struct buf *b, const char *name, const char *value)
{
	if (b->len && buf_append_str(b, "&") != 0)
		return -1;
	if (buf_printf(b, "%s=", name) != 0)
		return -1;
	return sigv4_uri_encode(b, value, strlen(value), false);
}

char *sts_build_assume_body(const struct sts_assume_request *req)
{
	struct buf b;
	char dur[16];

	buf_init(&b, STS_BODY_MAX);
	if (!req->role_arn || !req->role_session_name || !req->web_identity_token)
		return NULL;
	if (form_param(&b, "Action", "AssumeRoleWithWebIdentity") != 0 ||
	    form_param(&b, "Version", STS_VERSION) != 0 ||
	    form_param(&b, "RoleArn", req->role_arn) != 0 ||
	    form_param(&b, "RoleSessionName", req->role_session_name) != 0 ||
	    form_param(&b, "WebIdentityToken", req->web_identity_token) != 0)
		goto fail;
	if (req->duration_seconds) {
		snprintf(dur, sizeof dur, "%d", req->duration_seconds);
		if (form_param(&b, "DurationSeconds", dur) != 0)
			goto fail;
	}
	return buf_steal(&b);
fail:
	buf_free(&b);
	return NULL;
}

/* AWS may echo request values in a message (validation errors); make sure the token
 * itself can never come back out through an error string. */
static void redact_token(struct aws_error *e, const char *token)
{
	if (token && strlen(token) >= 8 && strstr(e->message, token))
		snprintf(e->message, sizeof e->message, "%s", "(message withheld: it quoted the token)");
}

int sts_assume_role_with_web_identity(const struct sts_assume_request *req,
				      struct sts_assumed_role *out, struct aws_error *aerr,
				      char *err, size_t errlen)
{
	static const char *const headers[] = {
		"Content-Type: application/x-www-form-urlencoded; charset=utf-8",
		"Accept: text/xml",
		NULL,
	};
	struct aws_http_response resp;
	struct aws_http_request hreq = { 0 };
	char msg[256], line[700];
	char *body = NULL;
	int max = req->max_attempts > 0 ? req->max_attempts : AWS_RETRY_MAX_ATTEMPTS;
	int rc = -1;

	memset(out, 0, sizeof *out);
	aws_error_set(aerr, "", "", 0);
	aws_http_response_init(&resp);
	if (req->duration_seconds && (req->duration_seconds < 900 || req->duration_seconds > 43200)) {
		aws_error_set(aerr, "InvalidParameter", "DurationSeconds must be 900..43200", 0);
		goto fail;
	}
	body = sts_build_assume_body(req);
	if (!body) {
		aws_error_set(aerr, "InvalidParameter",
			      "RoleArn, RoleSessionName and WebIdentityToken are required", 0);
		goto fail;
	}
	hreq.url = req->endpoint;
	hreq.headers = headers;
	hreq.body = body;
	hreq.body_len = strlen(body);
	hreq.ca_file = req->ca_file;
	hreq.timeout_ms = req->timeout_ms;
	hreq.max_response = STS_XML_MAX_BYTES;
	hreq.tally = req->tally;
	hreq.service = UPSTREAM_STS;
	for (int attempt = 1;; attempt++) {
		bool again;

		aws_error_set(aerr, "", "", 0);
		if (aws_http_post(&hreq, &resp, msg, sizeof msg) != 0) {
			aws_error_set(aerr, AWS_ERR_TRANSPORT, msg, 0);
			again = aws_retry_is_retryable(aerr, resp.transient);
		} else if (resp.status != 200) {
			aerr->http_status = resp.status;
			if (sts_parse_error_response(resp.body.data, resp.body.len, aerr) != 0) {
				snprintf(msg, sizeof msg, "HTTP %ld without an AWS error document",
					 resp.status);
				aws_error_set(aerr,
					      resp.status >= 500 ? "ServiceUnavailable" : "HTTPError",
					      msg, resp.status);
			}
			redact_token(aerr, req->web_identity_token);
			again = aws_retry_is_retryable(aerr, false);
		} else {
			break;
		}
		/* Throttling, IDPCommunicationError (STS could not reach the IdP), 5xx and
		 * broken connections: the SDKs' standard retry mode (lib/aws/aws_retry.h). */
		if (!again || attempt >= max)
			goto fail;
		aws_retry_sleep_ms(aws_retry_backoff_ms(attempt, aws_retry_rand01()));
	}
	aerr->http_status = resp.status;
	if (sts_parse_assume_role_response(resp.body.data, resp.body.len, out, msg,
					   sizeof msg) != 0) {
		aws_error_set(aerr, AWS_ERR_BAD_RESPONSE, msg, resp.status);
		goto fail;
	}
	rc = 0;
	goto done;
fail:
	aws_error_format(aerr, line, sizeof line);
	if (err && errlen)
		snprintf(err, errlen, "STS AssumeRoleWithWebIdentity: %s", line);
done:
	if (body) {
		/* The body held the id_token. */
		explicit_bzero(body, strlen(body));
		free(body);
	}
	if (resp.body.data)
		explicit_bzero(resp.body.data, resp.body.len);
	aws_http_response_free(&resp);
	return rc;
}
