#include "core/errmsg.h"
#include "aws/aws_http.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net/trust.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif
#define USER_AGENT "periscope/" PACKAGE_VERSION

void aws_endpoint_free(struct aws_endpoint *e)
{
	free(e->url);
	free(e->host_header);
	free(e->path);
	memset(e, 0, sizeof *e);
}

int aws_endpoint_parse(const char *url, struct aws_endpoint *out, char *err, size_t errlen)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *user = NULL,
	     *query = NULL, *fragment = NULL;
	long portnum = 0;
	int rc = -1;

	memset(out, 0, sizeof *out);
	if (!u) {
		set_err(err, errlen, "%s", "out of memory");
		return -1;
	}
	if (!url || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		set_err(err, errlen, "endpoint %s is not a valid URL", url ? url : "(null)");
		goto fail;
	}
	if (strcmp(scheme, "https") && strcmp(scheme, "http")) {
		set_err(err, errlen, "endpoint %s: only http and https are allowed", url);
		goto fail;
	}
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_FRAGMENT, &fragment, 0) == CURLUE_OK) {
		set_err(err, errlen, "endpoint %s must not carry user info, a query or a fragment",
			url);
		goto fail;
	}
	/* The Host header curl sends, which is what must be signed: the port only when it
	 * is not the scheme's default. */
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK) {
		portnum = strtol(port, NULL, 10);
		if ((!strcmp(scheme, "https") && portnum == 443) ||
		    (!strcmp(scheme, "http") && portnum == 80))
			portnum = 0;
	}
	if (curl_url_get(u, CURLUPART_PATH, &path, CURLU_URLDECODE) != CURLUE_OK)
		path = NULL;
	out->url = strdup(url);
	out->path = strdup(path && *path ? path : "/");
	if (portnum) {
		size_t n = strlen(host) + 8;

		out->host_header = malloc(n);
		if (out->host_header)
			snprintf(out->host_header, n, "%s:%ld", host, portnum);
	} else {
		out->host_header = strdup(host);
	}
	if (!out->url || !out->path || !out->host_header) {
		set_err(err, errlen, "%s", "out of memory");
		aws_endpoint_free(out);
		goto fail;
	}
	rc = 0;
fail:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_free(user);
	curl_free(query);
	curl_free(fragment);
	curl_url_cleanup(u);
	return rc;
}

void aws_http_response_init(struct aws_http_response *r)
{
	memset(r, 0, sizeof *r);
	buf_init(&r->body, AWS_HTTP_DEFAULT_MAX_RESPONSE);
}

void aws_http_response_free(struct aws_http_response *r)
{
	buf_free(&r->body);
}

struct transfer {
	struct aws_http_response *resp;
	bool too_large;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct transfer *t = userdata;
	size_t n = size * nmemb;

	if (buf_append(&t->resp->body, data, n) != 0) {
		t->too_large = true;
		return 0;
	}
	return n;
}

/* Copies a header value (trimmed) into dst when the line is `name: value`. */
static void capture_header(const char *line, size_t len, const char *name, char *dst,
			   size_t dstlen)
{
	size_t nl = strlen(name), vlen;
	const char *v;

	if (len <= nl || strncasecmp(line, name, nl) || line[nl] != ':')
		return;
	v = line + nl + 1;
	vlen = len - nl - 1;
	while (vlen && (*v == ' ' || *v == '\t'))
		v++, vlen--;
	while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
		vlen--;
	snprintf(dst, dstlen, "%.*s", (int)vlen, v);
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *userdata)
{
	struct transfer *t = userdata;
	size_t n = size * nmemb;

	/* A new status line (after a 100 Continue) starts a new set of headers. */
	if (n >= 5 && !strncmp(line, "HTTP/", 5)) {
		t->resp->content_type[0] = t->resp->error_type[0] = t->resp->request_id[0] =
			t->resp->date[0] = '\0';
		return n;
	}
	capture_header(line, n, "content-type", t->resp->content_type,
		       sizeof t->resp->content_type);
	capture_header(line, n, "x-amzn-errortype", t->resp->error_type,
		       sizeof t->resp->error_type);
	capture_header(line, n, "x-amzn-requestid", t->resp->request_id,
		       sizeof t->resp->request_id);
	capture_header(line, n, "x-amz-request-id", t->resp->request_id,
		       sizeof t->resp->request_id);
	capture_header(line, n, "date", t->resp->date, sizeof t->resp->date);
	return n;
}

/* Failures on the way, as aws-sdk-go-v2's RetryableConnectionError counts them (reset,
 * refused, dial and timeout errors); a refused certificate or a too-large answer is not. */
static bool transient_failure(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
		return true;
	default:
		return false;
	}
}

#define SETOPT(c, opt, val) \
	do { if (curl_easy_setopt(c, opt, val) != CURLE_OK) goto setopt_fail; } while (0)

int aws_http_post(const struct aws_http_request *req, struct aws_http_response *resp,
		  char *err, size_t errlen)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hdrs = NULL, *tmp;
	struct transfer t = { .resp = resp };
	char curl_err[CURL_ERROR_SIZE] = "";
	long timeout = req->timeout_ms > 0 ? req->timeout_ms : AWS_HTTP_DEFAULT_TIMEOUT_MS;
	long connect_timeout = req->connect_timeout_ms > 0 ? req->connect_timeout_ms : timeout / 3;
	CURLcode cc;
	int rc = -1;

	buf_reset(&resp->body);
	resp->body.max = req->max_response ? req->max_response : AWS_HTTP_DEFAULT_MAX_RESPONSE;
	resp->status = 0;
	resp->transient = false;
	resp->date[0] = '\0';
	if (!c) {
		set_err(err, errlen, "%s", "curl_easy_init failed");
		return -1;
	}
	for (const char *const *h = req->headers; h && *h; h++) {
		tmp = curl_slist_append(hdrs, *h);
		if (!tmp)
			goto oom;
		hdrs = tmp;
	}
	/* No "Expect: 100-continue" round trip for bodies over 1 KiB (an STS form with an
	 * id_token is one); no compressed answers to bound. */
	if (!(tmp = curl_slist_append(hdrs, "Expect:")))
		goto oom;
	hdrs = tmp;
	SETOPT(c, CURLOPT_URL, req->url);
	SETOPT(c, CURLOPT_ERRORBUFFER, curl_err);
	SETOPT(c, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	SETOPT(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	SETOPT(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	/* "" disables every proxy, including http_proxy/https_proxy/ALL_PROXY from the
	 * environment: AWS calls carry credentials and must go where configured. */
	SETOPT(c, CURLOPT_PROXY, "");
	SETOPT(c, CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	SETOPT(c, CURLOPT_TIMEOUT_MS, timeout);
	SETOPT(c, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout);
	SETOPT(c, CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (trust_configure(c, req->ca_file) != CURLE_OK)
		goto setopt_fail;
	SETOPT(c, CURLOPT_USERAGENT, USER_AGENT);
	SETOPT(c, CURLOPT_HTTPHEADER, hdrs);
	SETOPT(c, CURLOPT_POST, 1L);
	SETOPT(c, CURLOPT_POSTFIELDS, req->body ? req->body : "");
	SETOPT(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	SETOPT(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)resp->body.max);
	SETOPT(c, CURLOPT_WRITEFUNCTION, on_body);
	SETOPT(c, CURLOPT_WRITEDATA, &t);
	SETOPT(c, CURLOPT_HEADERFUNCTION, on_header);
	SETOPT(c, CURLOPT_HEADERDATA, &t);
	cc = curl_easy_perform(c);
	if (t.too_large || cc == CURLE_FILESIZE_EXCEEDED) {
		char lim[32];

		snprintf(lim, sizeof lim, "%zu", resp->body.max);
		set_err(err, errlen, "answer larger than %s bytes", lim);
		goto done;
	}
	if (cc != CURLE_OK) {
		resp->transient = transient_failure(cc);
		set_err(err, errlen, "%s", curl_err[0] ? curl_err : curl_easy_strerror(cc));
		goto done;
	}
	if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status) != CURLE_OK) {
		set_err(err, errlen, "%s", "no HTTP status");
		goto done;
	}
	rc = 0;
	goto done;
setopt_fail:
	set_err(err, errlen, "%s", "curl_easy_setopt failed");
	goto done;
oom:
	set_err(err, errlen, "%s", "out of memory");
done:
	upstream_tally_record(req->tally, req->service, resp->status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return rc;
}
