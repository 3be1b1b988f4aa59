/* A small libcurl (GnuTLS build) POST helper for the AWS APIs: one request, a bounded
 * answer, no proxy from the environment, HTTP/1.1, no redirects, explicit timeouts.
 *
 * The program must call curl_global_init() once at start (libcurl 7.88 does it lazily
 * otherwise, which is not thread-safe). */
#ifndef PERISCOPE_AWS_HTTP_H
#define PERISCOPE_AWS_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "metrics/upstream_tally.h"

#define AWS_HTTP_DEFAULT_TIMEOUT_MS 15000
#define AWS_HTTP_DEFAULT_MAX_RESPONSE (1024 * 1024)

/* Where a request goes and how the endpoint URL is to be signed. */
struct aws_endpoint {
	char *url;          /* as given, e.g. "https://ssm.us-east-1.amazonaws.com" */
	char *host_header;  /* "ssm.us-east-1.amazonaws.com", with ":port" when not default */
	char *path;         /* decoded path, "/" when the URL has none */
};

/* Parses an http(s) URL with libcurl's URL API. Refuses other schemes, user info,
 * queries and fragments (the AWS endpoints never carry them). 0 or -1 with err. */
int aws_endpoint_parse(const char *url, struct aws_endpoint *out, char *err, size_t errlen);
void aws_endpoint_free(struct aws_endpoint *e);

struct aws_http_request {
	const char *url;
	const char *const *headers;   /* "Name: value" lines, NULL-terminated */
	const void *body;
	size_t body_len;
	const char *ca_file;          /* CA bundle replacing the system one; NULL = system */
	long timeout_ms;              /* whole request; 0 = AWS_HTTP_DEFAULT_TIMEOUT_MS */
	long connect_timeout_ms;      /* 0 = a third of timeout_ms */
	size_t max_response;          /* body limit; 0 = AWS_HTTP_DEFAULT_MAX_RESPONSE */
	struct upstream_tally *tally; /* each attempt's outcome counted here, or NULL */
	enum upstream_service service;
};

struct aws_http_response {
	long status;                  /* HTTP status of the final answer */
	struct buf body;              /* NUL-terminated */
	char content_type[128];
	char error_type[256];         /* x-amzn-ErrorType, JSON APIs' fallback error code */
	char request_id[128];         /* x-amzn-RequestId / x-amz-request-id */
	char date[64];                /* Date: AWS's clock, for the skew correction */
	bool transient;               /* on failure: the connection broke (reset, refused, timed
	                               * out), which a new attempt may not meet */
};

void aws_http_response_init(struct aws_http_response *r);
void aws_http_response_free(struct aws_http_response *r);

/* POSTs the body. 0 when an HTTP answer (any status) arrived within the limits; -1 with a
 * one-line message (no header or body content) on transport failures, timeouts and
 * answers larger than max_response. */
int aws_http_post(const struct aws_http_request *req, struct aws_http_response *resp,
		  char *err, size_t errlen);

#endif
