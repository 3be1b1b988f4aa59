#include "net/http_client.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/trust.h"

struct body_sink {
	const struct http_request *rq;
	struct http_response *rs;
	CURL *c;
};

static size_t collect_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct body_sink *sink = userdata;
	size_t n = size * nmemb;

	/* Returning less than n makes libcurl stop the transfer. A streaming reader sees only
	 * successful bodies; an error body (a Status) is collected as usual. */
	if (sink->rq->on_body && sink->rs->status == 0)
		curl_easy_getinfo(sink->c, CURLINFO_RESPONSE_CODE, &sink->rs->status);
	if (sink->rq->on_body && sink->rs->status / 100 == 2) {
		if (sink->rq->on_body(sink->rq->body_ud, data, n) != 0) {
			sink->rs->stopped = 1;
			return 0;
		}
		return n;
	}
	return buf_append(&sink->rs->body, data, n) == 0 ? n : 0;
}

struct http_share *http_share_new(void)
{
	CURLSH *sh = curl_share_init();

	if (sh && (curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) != CURLSHE_OK ||
		   curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK)) {
		curl_share_cleanup(sh);
		sh = NULL;
	}
	return (struct http_share *)sh;
}

void http_share_free(struct http_share *share)
{
	if (share)
		curl_share_cleanup((CURLSH *)share);
}

/* The response headers a caller may need: the server's clock (an apiserver's Date is the
 * clock its token expiries are on) and its first warning. */
static void read_headers(CURL *c, struct http_response *rs)
{
	struct curl_header *h;
	time_t t;

	if (curl_easy_header(c, "Date", 0, CURLH_HEADER, -1, &h) == CURLHE_OK &&
	    (t = curl_getdate(h->value, NULL)) > 0)
		rs->date = (long long)t;
	if (curl_easy_header(c, "Warning", 0, CURLH_HEADER, -1, &h) == CURLHE_OK)
		snprintf(rs->warning, sizeof rs->warning, "%s", h->value);
}

/* Runs the transfer through a multi handle, serving the caller's descriptors meanwhile. */
static CURLcode perform_waiting(CURL *c, const struct http_wait *wait, struct http_response *rs)
{
	CURLM *m = curl_multi_init();
	CURLcode result = CURLE_OK;
	int running = 1;

	if (!m || curl_multi_add_handle(m, c) != CURLM_OK) {
		curl_multi_cleanup(m);
		return CURLE_OUT_OF_MEMORY;
	}
	while (running) {
		struct pollfd fds[HTTP_WAIT_MAX_FDS];
		struct curl_waitfd wfds[HTTP_WAIT_MAX_FDS];
		int n = wait->fill(wait->ud, fds);
		CURLMsg *msg;
		int left;

		if (curl_multi_perform(m, &running) != CURLM_OK) {
			result = CURLE_FAILED_INIT;
			break;
		}
		while ((msg = curl_multi_info_read(m, &left)))
			if (msg->msg == CURLMSG_DONE)
				result = msg->data.result;
		if (!running)
			break;
		for (int i = 0; i < n; i++)
			wfds[i] = (struct curl_waitfd){ fds[i].fd < 0 ? 0 : fds[i].fd,
							 (short)(fds[i].fd < 0 ? 0 : fds[i].events), 0 };
		if (curl_multi_poll(m, wfds, (unsigned)n, 200, NULL) != CURLM_OK) {
			result = CURLE_FAILED_INIT;
			break;
		}
		for (int i = 0; i < n; i++)
			fds[i].revents = fds[i].fd < 0 ? 0 : wfds[i].revents;
		if (wait->serve(wait->ud, fds, n) != 0) {
			rs->abandoned = 1;
			break;
		}
	}
	curl_multi_remove_handle(m, c);
	curl_multi_cleanup(m);
	return result;
}

int http_do(const struct http_request *rq, struct http_response *rs, char *err, size_t errlen)
{
	struct curl_slist *headers = NULL, *connect_to = NULL;
	CURL *c = curl_easy_init();
	char curl_err[CURL_ERROR_SIZE] = "";
	struct body_sink sink = { rq, rs, c };
	CURLcode cc;
	int rc = -1;

	buf_init(&rs->body, rq->max_body ? rq->max_body : HTTP_DEFAULT_MAX_BODY);
	rs->status = 0;
	rs->stopped = 0;
	rs->abandoned = 0;
	rs->date = 0;
	rs->warning[0] = '\0';
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (const char *const *h = rq->headers; h && *h; h++) {
		struct curl_slist *next = curl_slist_append(headers, *h);
		if (!next)
			goto done;
		headers = next;
	}
	curl_easy_setopt(c, CURLOPT_URL, rq->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(c, CURLOPT_PROXY, ""); /* never honour *_proxy variables */
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, rq->timeout_ms ? rq->timeout_ms : 10000L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
	if (headers)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	if (trust_configure(c, rq->ca_file) != CURLE_OK) {
		snprintf(err, errlen, "cannot set the trusted CA");
		goto done;
	}
	if (rq->cert_file && rq->key_file) {
		curl_easy_setopt(c, CURLOPT_SSLCERT, rq->cert_file);
		curl_easy_setopt(c, CURLOPT_SSLKEY, rq->key_file);
	}
	if (rq->share)
		curl_easy_setopt(c, CURLOPT_SHARE, (CURLSH *)rq->share);
	if (rq->connect_to) {
		connect_to = curl_slist_append(NULL, rq->connect_to);
		if (!connect_to)
			goto done;
		curl_easy_setopt(c, CURLOPT_CONNECT_TO, connect_to);
	}
	if (rq->unverified_tls) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}

	if (rq->basic_user) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERNAME, rq->basic_user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, rq->basic_password ? rq->basic_password : "");
	}
	if (rq->body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)rq->body_len);
	}
	if (rq->method && strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "POST") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
	cc = rq->wait ? perform_waiting(c, rq->wait, rs) : curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &rs->status);
	/* A request the caller abandoned (the browser left) is nobody's failure. */
	if (!rs->abandoned)
		upstream_tally_record(rq->tally, rq->service, rs->status);
	read_headers(c, rs);
	if (rs->abandoned || (rs->stopped && cc == CURLE_WRITE_ERROR)) {
		rc = 0;
		goto done;
	}
	if (cc != CURLE_OK) {
		/* The URL is safe to name; curl's message never contains credentials we set. */
		snprintf(err, errlen, "%s %s: %s", rq->method ? rq->method : "GET", rq->url,
			 curl_err[0] ? curl_err : curl_easy_strerror(cc));
		goto done;
	}
	rc = 0;
done:
	curl_slist_free_all(headers);
	curl_slist_free_all(connect_to);
	curl_easy_cleanup(c);
	if (rc != 0)
		buf_free(&rs->body);
	return rc;
}

void http_response_free(struct http_response *rs)
{
	buf_free(&rs->body);
}

char *http_form_encode(const char *const *pairs)
{
	struct buf out;
	CURL *c = curl_easy_init();
	int rc = 0;

	if (!c)
		return NULL;
	buf_init(&out, 1 << 20);
	for (size_t i = 0; pairs[i]; i += 2) {
		char *k, *v;
		if (!pairs[i + 1])
			continue;
		k = curl_easy_escape(c, pairs[i], 0);
		v = curl_easy_escape(c, pairs[i + 1], 0);
		if (!k || !v)
			rc = -1;
		else
			rc |= buf_printf(&out, "%s%s=%s", out.len ? "&" : "", k, v);
		curl_free(k);
		curl_free(v);
	}
	curl_easy_cleanup(c);
	if (rc != 0) {
		buf_free(&out);
		return NULL;
	}
	return buf_steal(&out);
}

char *http_escape(const char *s)
{
	CURL *c = curl_easy_init();
	char *e = c ? curl_easy_escape(c, s, 0) : NULL, *out = e ? strdup(e) : NULL;

	curl_free(e);
	curl_easy_cleanup(c);
	return out;
}
