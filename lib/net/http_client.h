/* Outbound HTTP(S) through libcurl for the IdP and the apiserver's REST calls: bounded
 * response bodies, explicit timeouts, no proxy taken from the environment, HTTP/1.1. */
#ifndef PERISCOPE_HTTP_CLIENT_H
#define PERISCOPE_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "metrics/upstream_tally.h"

#define HTTP_DEFAULT_MAX_BODY (4u << 20)

#include <poll.h>

/* While a request is in flight, the caller's own descriptors can be served too (wsbridge
 * keeps reading the browser while it waits on the apiserver): fill() lists them (at most
 * HTTP_WAIT_MAX_FDS), serve() handles their events and returns 1 to abandon the request. */
#define HTTP_WAIT_MAX_FDS 4
struct http_wait {
	int (*fill)(void *ud, struct pollfd *fds);
	int (*serve)(void *ud, struct pollfd *fds, int n);
	void *ud;
};

struct http_request {
	const char *method;              /* "GET" when NULL */
	const char *url;
	const char *const *headers;      /* NULL-terminated "Name: value" lines, or NULL */
	const char *body;                /* sent as is */
	size_t body_len;
	const char *basic_user;          /* HTTP basic auth (client_secret_basic), or NULL */
	const char *basic_password;
	const char *ca_file;             /* the one trusted CA, or NULL for the system bundle */
	const char *cert_file;           /* client certificate (PEM), or NULL */
	const char *key_file;            /* its private key (PEM), with cert_file */
	/* "host:port:addr:port": dial addr:port for the URL's host:port, which TLS still
	 * verifies (an agent cluster's apiserver through its tunnel port), or NULL */
	const char *connect_to;
	/* kubeadm-style discovery only: the answer is not trusted until the caller checks it
	 * against a pin (k8s/agent_access.c); every other caller leaves it false */
	bool unverified_tls;
	long timeout_ms;                 /* whole request; 0 = 10 s */
	size_t max_body;                 /* 0 = HTTP_DEFAULT_MAX_BODY */
	const struct http_wait *wait;    /* serve other descriptors meanwhile, or NULL */
	struct http_share *share;        /* connections kept for the next request, or NULL */
	/* Streaming bodies (a watch): each chunk goes here instead of into the response body;
	 * return 1 to stop reading (http_do then returns 0 with stopped set). */
	int (*on_body)(void *ud, const char *data, size_t len);
	void *body_ud;
	/* The outcome (status class, or "error" without an answer) is counted here for the
	 * metrics, under service; NULL counts nothing. */
	struct upstream_tally *tally;
	enum upstream_service service;
};

struct http_response {
	long status;
	struct buf body;
	int stopped;                     /* on_body asked to stop */
	int abandoned;                   /* wait->serve asked to give up */
	long long date;                  /* the server's clock (Date header), Unix seconds; 0 if none */
	char warning[256];               /* the first Warning header's value, "" if none */
};

/* Connections (and TLS sessions) kept open between the requests that name the share, so a
 * run of calls to one server pays for one handshake. Single-threaded use only. */
struct http_share;
struct http_share *http_share_new(void);
void http_share_free(struct http_share *share);

/* Performs the request. A transport failure or an over-long body is -1 with err; any HTTP
 * status is 0 (the caller judges the status). */
int http_do(const struct http_request *rq, struct http_response *rs, char *err, size_t errlen);
void http_response_free(struct http_response *rs);

/* application/x-www-form-urlencoded from name/value pairs (NULL-terminated, values may be
 * NULL to skip). Returns a malloc'd string or NULL. */
char *http_form_encode(const char *const *pairs);

/* Percent-encodes s as a form value (curl_easy_escape). malloc'd, or NULL. */
char *http_escape(const char *s);

#endif
