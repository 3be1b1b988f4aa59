#include "net/wsclient.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <wslay/wslay.h>

#include "core/buf.h"
#include "core/timeutil.h"
#include "net/trust.h"
#include "net/ws_frame.h"
#include "net/ws_handshake.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 10000
#define DEFAULT_MAX_MESSAGE (1024 * 1024)
#define DEFAULT_MAX_PENDING (4 * 1024 * 1024)
/* Bytes one ws_client_on_ready() call may read, so one busy upstream cannot keep the
 * loop from serving the browser side. */
#define READ_BUDGET (256 * 1024)
#define MAX_HEADERS 64
#define MAX_SUBPROTOCOLS 8
/* What the out buffer may keep after it drained: a burst's megabytes are given back. */
#define OUT_KEEP (64 * 1024)
/* Masking keys are drawn from GnuTLS's nonce generator this many bytes at a time (one
 * call per 64 frames instead of one per frame; each key is used once). */
#define MASK_POOL 256

struct ws_client {
	/* Options, owned copies. */
	char *url, *ca_file, *cert_file, *key_file, *user_agent, *connect_to;
	struct curl_slist *connect_to_list;
	char *headers[MAX_HEADERS + 1];
	char *subprotocols[MAX_SUBPROTOCOLS + 1];
	int connect_timeout_ms;
	int ping_interval_ms, read_timeout_ms;
	size_t max_message, max_pending;
	ws_message_fn on_message;
	void *userdata;

	CURL *curl;
	CURLU *curlu;
	char curl_err[CURL_ERROR_SIZE];
	curl_socket_t fd;
	gnutls_session_t tls;  /* to see records GnuTLS decrypted but we did not read yet */
	wslay_event_context_ptr ws;

	int http_status;
	struct buf http_body;
	char subprotocol[128];

	/* Bytes that came after the 101 head in the same read: wslay gets them first. */
	struct buf early;
	size_t early_off;

	/* Whole frames on their way to the socket, in order: data frames built by
	 * ws_client_send, control frames (pong, ping, close) written by wslay. Everything
	 * queued goes out in one curl_easy_send (one TLS record, one send()) where it fits:
	 * the acks of a whole read of SSM messages share one record. */
	struct buf out;
	size_t out_off;      /* bytes of out already sent */
	size_t out_retry;    /* after CURLE_AGAIN: the length GnuTLS holds a record for */
	bool close_queued;   /* ws_client_close was called: no data frame after it */

	uint8_t mask_pool[MASK_POOL];
	size_t mask_used;

	/* The data message being assembled (reused: no allocation per message). */
	struct buf msg;
	enum ws_opcode msg_opcode;
	bool frame_is_data, frame_fin, msg_too_big;

	size_t read_budget;
	bool paused, eof, failed;
	long long last_receive_ms;
	long long last_ping_ms;
	char close_reason[124];
	char error[256];
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

struct ws_client *ws_client_new(const struct ws_client_opts *o, char *err, size_t errlen)
{
	struct ws_client *c = calloc(1, sizeof *c);
	size_t i;

	if (!c) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	c->fd = CURL_SOCKET_BAD;
	buf_init(&c->http_body, WS_BODY_MAX);
	buf_init(&c->early, WS_HEAD_MAX);
	c->max_message = o->max_message ? o->max_message : DEFAULT_MAX_MESSAGE;
	c->max_pending = o->max_pending ? o->max_pending : DEFAULT_MAX_PENDING;
	buf_init(&c->msg, c->max_message);
	/* A full queue, what of it was sent but not yet moved out (flush_out), and the control
	 * frames wslay may add. */
	buf_init(&c->out, 2 * c->max_pending + 8192);
	c->mask_used = MASK_POOL;
	c->connect_timeout_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms
							  : DEFAULT_CONNECT_TIMEOUT_MS;
	c->on_message = o->on_message;
	c->userdata = o->userdata;
	c->ping_interval_ms = o->ping_interval_ms > 0 ? o->ping_interval_ms : 0;
	c->read_timeout_ms = o->read_timeout_ms > 0 ? o->read_timeout_ms : 0;
	if (!o->url) {
		snprintf(err, errlen, "no URL given");
		goto fail;
	}
	c->url = strdup(o->url);
	c->ca_file = dup_or_null(o->ca_file);
	c->cert_file = dup_or_null(o->cert_file);
	c->key_file = dup_or_null(o->key_file);
	c->connect_to = dup_or_null(o->connect_to);
	c->user_agent = strdup(o->user_agent ? o->user_agent : "periscope");
	if (!c->url || (o->ca_file && !c->ca_file) || (o->cert_file && !c->cert_file) ||
	    (o->key_file && !c->key_file) || !c->user_agent || (o->connect_to && !c->connect_to)) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (i = 0; o->headers && o->headers[i]; i++) {
		if (i == MAX_HEADERS) {
			snprintf(err, errlen, "more than %d extra headers", MAX_HEADERS);
			goto fail;
		}
		if (ws_handshake_check_header(o->headers[i], err, errlen) != 0)
			goto fail;
		if (!(c->headers[i] = strdup(o->headers[i]))) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	for (i = 0; o->subprotocols && o->subprotocols[i]; i++) {
		if (i == MAX_SUBPROTOCOLS) {
			snprintf(err, errlen, "more than %d subprotocols", MAX_SUBPROTOCOLS);
			goto fail;
		}
		if (!(c->subprotocols[i] = strdup(o->subprotocols[i]))) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	return c;
fail:
	ws_client_free(c);
	return NULL;
}

void ws_client_free(struct ws_client *c)
{
	if (!c)
		return;
	if (c->ws)
		wslay_event_context_free(c->ws);
	if (c->curl)
		curl_easy_cleanup(c->curl);
	if (c->curlu)
		curl_url_cleanup(c->curlu);
	free(c->url);
	free(c->ca_file);
	free(c->connect_to);
	curl_slist_free_all(c->connect_to_list);
	free(c->cert_file);
	free(c->key_file);
	free(c->user_agent);
	for (size_t i = 0; c->headers[i]; i++)
		free(c->headers[i]);
	for (size_t i = 0; c->subprotocols[i]; i++)
		free(c->subprotocols[i]);
	buf_free(&c->http_body);
	buf_free(&c->early);
	buf_free(&c->msg);
	buf_free(&c->out);
	explicit_bzero(c->mask_pool, sizeof c->mask_pool);
	free(c);
}

static void set_error(struct ws_client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void set_error(struct ws_client *c, const char *fmt, ...)
{
	va_list ap;

	if (c->error[0])
		return;  /* the first cause is the one worth reporting */
	va_start(ap, fmt);
	vsnprintf(c->error, sizeof c->error, fmt, ap);
	va_end(ap);
}

/* ---- wslay callbacks: the byte stream is libcurl's (TLS or plain) connection ---- */

static ssize_t on_wslay_recv(wslay_event_context_ptr ctx, uint8_t *data, size_t len,
			     int flags, void *user_data)
{
	struct ws_client *c = user_data;
	size_t n = 0;
	CURLcode rc;

	if (c->early_off < c->early.len) {
		n = c->early.len - c->early_off;
		if (n > len)
			n = len;
		memcpy(data, c->early.data + c->early_off, n);
		c->early_off += n;
		return (ssize_t)n;
	}
	if (c->read_budget == 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	if (len > c->read_budget)
		len = c->read_budget;
	rc = curl_easy_recv(c->curl, data, len, &n);
	if (rc == CURLE_AGAIN) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	if (rc != CURLE_OK) {
		set_error(c, "receive failed: %s", curl_easy_strerror(rc));
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	if (n == 0) {
		c->eof = true;
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	c->read_budget -= n;
	c->last_receive_ms = monotonic_ms();
	return (ssize_t)n;
}

/* wslay's frames (control frames only: data goes through ws_client_send) join the out
 * buffer whole; flush_out sends them with the rest. Never blocks, so wslay never holds half
 * a frame and frames cannot interleave. */
static ssize_t on_wslay_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
			     int flags, void *user_data)
{
	struct ws_client *c = user_data;

	(void)flags;
	if (buf_append(&c->out, data, len) != 0) {
		set_error(c, "the send buffer is full");
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	return (ssize_t)len;
}

/* RFC 6455 §5.3: a fresh, unpredictable key per frame. */
static int next_mask(struct ws_client *c, uint8_t key[WS_MASK_KEY_LEN])
{
	if (c->mask_used + WS_MASK_KEY_LEN > sizeof c->mask_pool) {
		if (gnutls_rnd(GNUTLS_RND_NONCE, c->mask_pool, sizeof c->mask_pool) != 0)
			return -1;
		c->mask_used = 0;
	}
	memcpy(key, c->mask_pool + c->mask_used, WS_MASK_KEY_LEN);
	c->mask_used += WS_MASK_KEY_LEN;
	return 0;
}

static int on_wslay_genmask(wslay_event_context_ptr ctx, uint8_t *data, size_t len,
			    void *user_data)
{
	struct ws_client *c = user_data;

	(void)ctx;
	return len == WS_MASK_KEY_LEN && next_mask(c, data) == 0 ? 0 : -1;
}

static void refuse_oversized(struct ws_client *c, wslay_event_context_ptr ctx)
{
	static const char reason[] = "message too big";

	c->msg_too_big = true;
	set_error(c, "server sent a message larger than %zu bytes", c->max_message);
	/* The close can only fail if one is already queued; either way reading ends here. */
	(void)wslay_event_queue_close(ctx, WSLAY_CODE_MESSAGE_TOO_BIG,
				      (const uint8_t *)reason, sizeof reason - 1);
	wslay_event_shutdown_read(ctx);
}

/* Data frames come here unbuffered (no_buffering): we join fragments ourselves in c->msg,
 * checking the size at each frame header, before any payload is stored. */
static void on_wslay_frame_start(wslay_event_context_ptr ctx,
				 const struct wslay_event_on_frame_recv_start_arg *arg,
				 void *user_data)
{
	struct ws_client *c = user_data;

	c->frame_is_data = (arg->opcode & 0x8) == 0;
	if (!c->frame_is_data)
		return;  /* control frames: wslay buffers them and calls on_msg_recv */
	c->frame_fin = arg->fin;
	if (arg->opcode != WSLAY_CONTINUATION_FRAME) {
		c->msg_opcode = arg->opcode == WSLAY_TEXT_FRAME ? WS_OPCODE_TEXT : WS_OPCODE_BINARY;
		buf_reset(&c->msg);
	}
	if (c->msg_too_big)
		return;
	if (arg->payload_length > c->max_message - c->msg.len)
		refuse_oversized(c, ctx);
}

static void on_wslay_frame_chunk(wslay_event_context_ptr ctx,
				 const struct wslay_event_on_frame_recv_chunk_arg *arg,
				 void *user_data)
{
	struct ws_client *c = user_data;

	if (!c->frame_is_data || c->msg_too_big || arg->data_length == 0)
		return;
	if (buf_append(&c->msg, arg->data, arg->data_length) != 0)
		refuse_oversized(c, ctx);  /* cannot happen after the header check, unless OOM */
}

static void on_wslay_frame_end(wslay_event_context_ptr ctx, void *user_data)
{
	struct ws_client *c = user_data;

	if (!c->frame_is_data || c->msg_too_big || !c->frame_fin)
		return;
	if (c->on_message)
		c->on_message(c->userdata, c->msg_opcode,
			      c->msg.data ? (const uint8_t *)c->msg.data : (const uint8_t *)"",
			      c->msg.len);
	buf_reset(&c->msg);
}

static void on_wslay_msg(wslay_event_context_ptr ctx,
			 const struct wslay_event_on_msg_recv_arg *arg, void *user_data)
{
	struct ws_client *c = user_data;
	size_t n;

	/* wslay already queued the echoing close frame; keep the reason for the report. */
	if (arg->opcode != WSLAY_CONNECTION_CLOSE || arg->msg_length <= 2)
		return;
	n = arg->msg_length - 2;
	if (n >= sizeof c->close_reason)
		n = sizeof c->close_reason - 1;
	memcpy(c->close_reason, arg->msg + 2, n);
	c->close_reason[n] = '\0';
}

/* ---- the blocking handshake ---- */

/* Waits for events on the socket until the deadline: 1 ready, 0 timed out, -1 error. */
static int wait_socket(struct ws_client *c, short events, long long deadline)
{
	for (;;) {
		long long left = deadline - monotonic_ms();
		struct pollfd p = { .fd = c->fd, .events = events };
		int r;

		if (left <= 0)
			return 0;
		r = poll(&p, 1, (int)(left > 1000000 ? 1000000 : left));
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

/* Builds the curl handle from the ws(s) URL and opens TCP (+ TLS). Fills host and target. */
static int open_transport(struct ws_client *c, struct buf *host, struct buf *target,
			  char *err, size_t errlen)
{
	char *scheme = NULL, *h = NULL, *port = NULL, *path = NULL, *query = NULL, *user = NULL;
	struct curl_tlssessioninfo *tls = NULL;
	bool secure;
	CURLUcode uc;
	CURLcode rc;
	int ret = -1;

	c->curlu = curl_url();
	if (!c->curlu) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	uc = curl_url_set(c->curlu, CURLUPART_URL, c->url, CURLU_NON_SUPPORT_SCHEME);
	if (uc == CURLUE_OK)
		uc = curl_url_get(c->curlu, CURLUPART_SCHEME, &scheme, 0);
	if (uc == CURLUE_OK)
		uc = curl_url_get(c->curlu, CURLUPART_HOST, &h, 0);
	if (uc != CURLUE_OK) {
		snprintf(err, errlen, "bad WebSocket URL: %s", curl_url_strerror(uc));
		goto fail;
	}
	if (curl_url_get(c->curlu, CURLUPART_USER, &user, 0) == CURLUE_OK) {
		snprintf(err, errlen, "credentials in the WebSocket URL are not supported");
		goto fail;
	}
	if (strcmp(scheme, "wss") != 0 && strcmp(scheme, "ws") != 0) {
		snprintf(err, errlen, "URL scheme must be ws or wss, not %.16s", scheme);
		goto fail;
	}
	secure = strcmp(scheme, "wss") == 0;
	if (curl_url_get(c->curlu, CURLUPART_PORT, &port, 0) != CURLUE_OK)
		port = NULL;  /* default port: the Host header carries no port */
	if (curl_url_get(c->curlu, CURLUPART_PATH, &path, 0) != CURLUE_OK)
		path = NULL;
	if (curl_url_get(c->curlu, CURLUPART_QUERY, &query, 0) != CURLUE_OK)
		query = NULL;
	if (buf_printf(host, "%s%s%s", h, port ? ":" : "", port ? port : "") != 0 ||
	    buf_printf(target, "%s%s%s", path && path[0] ? path : "/", query ? "?" : "",
		       query ? query : "") != 0) {
		snprintf(err, errlen, "WebSocket URL is too long");
		goto fail;
	}
	/* libcurl only opens the connection (CONNECT_ONLY); it needs an http(s) URL for that. */
	if (curl_url_set(c->curlu, CURLUPART_SCHEME, secure ? "https" : "http", 0) != CURLUE_OK ||
	    curl_url_set(c->curlu, CURLUPART_FRAGMENT, NULL, 0) != CURLUE_OK) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}

	c->curl = curl_easy_init();
	if (!c->curl) {
		snprintf(err, errlen, "cannot create a libcurl handle");
		goto fail;
	}
	if (curl_easy_setopt(c->curl, CURLOPT_CURLU, c->curlu) != CURLE_OK ||
	    curl_easy_setopt(c->curl, CURLOPT_CONNECT_ONLY, 1L) != CURLE_OK ||
	    /* Required: with h2 chosen by ALPN, curl_easy_recv crashes in the nghttp2 path. */
	    curl_easy_setopt(c->curl, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1) != CURLE_OK ||
	    curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->curl_err) != CURLE_OK ||
	    curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)c->connect_timeout_ms) != CURLE_OK ||
	    /* TCP keepalive under the WebSocket pings: an AWS NLB forgets a flow after 350 s
	     * without a packet, a conntrack table or a NAT gateway sooner; probes from 30 s of
	     * silence, every 15 s, keep the flow known to every middlebox on the way. */
	    curl_easy_setopt(c->curl, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK ||
	    curl_easy_setopt(c->curl, CURLOPT_TCP_KEEPIDLE, 30L) != CURLE_OK ||
	    curl_easy_setopt(c->curl, CURLOPT_TCP_KEEPINTVL, 15L) != CURLE_OK ||
	    /* Through a proxy the bytes must still reach the server untouched: tunnel. */
	    curl_easy_setopt(c->curl, CURLOPT_HTTPPROXYTUNNEL, 1L) != CURLE_OK ||
	    trust_configure(c->curl, c->ca_file) != CURLE_OK ||
	    (c->connect_to &&
	     (!(c->connect_to_list = curl_slist_append(NULL, c->connect_to)) ||
	      curl_easy_setopt(c->curl, CURLOPT_CONNECT_TO, c->connect_to_list) != CURLE_OK)) ||
	    (c->cert_file && c->key_file &&
	     (curl_easy_setopt(c->curl, CURLOPT_SSLCERT, c->cert_file) != CURLE_OK ||
	      curl_easy_setopt(c->curl, CURLOPT_SSLKEY, c->key_file) != CURLE_OK))) {
		snprintf(err, errlen, "cannot configure libcurl");
		goto fail;
	}
	rc = curl_easy_perform(c->curl);
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "cannot connect to %s: %s", host->data,
			 c->curl_err[0] ? c->curl_err : curl_easy_strerror(rc));
		goto fail;
	}
	if (curl_easy_getinfo(c->curl, CURLINFO_ACTIVESOCKET, &c->fd) != CURLE_OK ||
	    c->fd == CURL_SOCKET_BAD) {
		snprintf(err, errlen, "libcurl did not hand over the socket");
		goto fail;
	}
	if (secure && curl_easy_getinfo(c->curl, CURLINFO_TLS_SSL_PTR, &tls) == CURLE_OK && tls &&
	    tls->backend == CURLSSLBACKEND_GNUTLS)
		c->tls = tls->internals;
	ret = 0;
fail:
	curl_free(scheme);
	curl_free(h);
	curl_free(port);
	curl_free(path);
	curl_free(query);
	curl_free(user);
	return ret;
}

static int send_all(struct ws_client *c, const char *data, size_t len, long long deadline,
		    char *err, size_t errlen)
{
	size_t off = 0;

	while (off < len) {
		size_t n = 0;
		CURLcode rc = curl_easy_send(c->curl, data + off, len - off, &n);

		if (rc == CURLE_AGAIN) {
			if (wait_socket(c, POLLOUT, deadline) != 1) {
				snprintf(err, errlen, "timed out sending the upgrade request");
				return -1;
			}
			continue;
		}
		if (rc != CURLE_OK) {
			snprintf(err, errlen, "sending the upgrade request failed: %s",
				 curl_easy_strerror(rc));
			return -1;
		}
		off += n;
	}
	return 0;
}

/* Appends one read to b (at most what b may still hold). 1 read, 0 end of stream, -1
 * error or timeout. */
static int read_some(struct ws_client *c, struct buf *b, long long deadline,
		     char *err, size_t errlen)
{
	char chunk[4096];
	size_t room = b->max - b->len, n = 0;
	CURLcode rc;

	for (;;) {
		rc = curl_easy_recv(c->curl, chunk, room < sizeof chunk ? room : sizeof chunk, &n);
		if (rc != CURLE_AGAIN)
			break;
		if (wait_socket(c, POLLIN, deadline) != 1) {
			snprintf(err, errlen, "timed out waiting for the server's answer");
			return -1;
		}
	}
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "reading the server's answer failed: %s",
			 curl_easy_strerror(rc));
		return -1;
	}
	if (n == 0)
		return 0;
	if (buf_append(b, chunk, n) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 1;
}

/* Reads the body of a refusal (the apiserver's Status JSON) into c->http_body. */
static void read_refusal_body(struct ws_client *c, const struct ws_http_head *h,
			      const char *already, size_t already_len, long long deadline)
{
	char ignored[128];
	struct buf raw;
	int r = 0;

	buf_init(&raw, WS_BODY_MAX + 1024);  /* room for chunk framing around a full body */
	if (buf_append(&raw, already, already_len) != 0)
		goto done;
	while ((r = ws_handshake_body(h, raw.data ? raw.data : "", raw.len, &c->http_body)) == 0) {
		if (raw.len == raw.max ||
		    read_some(c, &raw, deadline, ignored, sizeof ignored) != 1)
			break;
	}
	/* Length unknown (or cut short): keep what arrived, a prefix is better than nothing. */
	if (r == 0 && !h->chunked) {
		buf_reset(&c->http_body);
		(void)buf_append(&c->http_body, raw.data ? raw.data : "",
				 raw.len < WS_BODY_MAX ? raw.len : WS_BODY_MAX);
	}
done:
	buf_free(&raw);
}

static int start_wslay(struct ws_client *c, char *err, size_t errlen)
{
	struct wslay_event_callbacks cb = {
		.recv_callback = on_wslay_recv,
		.send_callback = on_wslay_send,
		.genmask_callback = on_wslay_genmask,
		.on_frame_recv_start_callback = on_wslay_frame_start,
		.on_frame_recv_chunk_callback = on_wslay_frame_chunk,
		.on_frame_recv_end_callback = on_wslay_frame_end,
		.on_msg_recv_callback = on_wslay_msg,
	};

	if (wslay_event_context_client_init(&c->ws, &cb, c) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	wslay_event_config_set_no_buffering(c->ws, 1);
	return 0;
}

int ws_client_connect(struct ws_client *c, char *err, size_t errlen)
{
	long long deadline = monotonic_ms() + c->connect_timeout_ms;
	char key[WS_KEY_LEN + 1];
	struct buf host, target, req, head;
	struct ws_http_head h;
	const char *chosen = NULL;
	size_t head_len = 0;
	int r, ret = -1;

	buf_init(&host, 2048);
	buf_init(&target, 64 * 1024);
	buf_init(&req, 128 * 1024);
	buf_init(&head, WS_HEAD_MAX);
	if (c->curl) {
		snprintf(err, errlen, "already connected");
		goto fail;
	}
	if (open_transport(c, &host, &target, err, errlen) != 0)
		goto fail;
	if (ws_handshake_new_key(key) != 0) {
		snprintf(err, errlen, "cannot make a WebSocket key");
		goto fail;
	}
	if (ws_handshake_request(&req, target.data, host.data, key,
				 (const char *const *)c->subprotocols,
				 (const char *const *)c->headers, c->user_agent) != 0) {
		snprintf(err, errlen, "cannot build the upgrade request (bad URL or headers)");
		goto fail;
	}
	if (send_all(c, req.data, req.len, deadline, err, errlen) != 0)
		goto fail;
	while ((head_len = ws_handshake_head_end(head.data ? head.data : "", head.len)) == 0) {
		if (head.len == head.max) {
			snprintf(err, errlen, "the server's answer head exceeds %d bytes", WS_HEAD_MAX);
			goto fail;
		}
		r = read_some(c, &head, deadline, err, errlen);
		if (r < 0)
			goto fail;
		if (r == 0) {
			snprintf(err, errlen, "the server closed the connection without answering");
			goto fail;
		}
	}
	if (ws_handshake_parse_head(head.data, head_len, &h, err, errlen) != 0)
		goto fail;
	c->http_status = h.status;
	if (h.status != 101) {
		read_refusal_body(c, &h, head.data + head_len, head.len - head_len, deadline);
		snprintf(err, errlen, "server refused the WebSocket upgrade with HTTP %d", h.status);
		goto fail;
	}
	if (ws_handshake_check_101(&h, key, (const char *const *)c->subprotocols, &chosen,
				   err, errlen) != 0)
		goto fail;
	if (chosen)
		snprintf(c->subprotocol, sizeof c->subprotocol, "%s", chosen);
	if (buf_append(&c->early, head.data + head_len, head.len - head_len) != 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (start_wslay(c, err, errlen) != 0)
		goto fail;
	c->last_receive_ms = c->last_ping_ms = monotonic_ms();
	/* Frames that came with the 101 (Kubernetes sends one at once) may sit in our buffer
	 * or in GnuTLS, where poll() cannot see them: take them now. */
	if (ws_client_on_ready(c, POLLIN) != 0) {
		snprintf(err, errlen, "%s", c->error);
		goto fail;
	}
	ret = 0;
fail:
	buf_free(&host);
	buf_free(&target);
	buf_free(&req);
	buf_free(&head);
	if (ret != 0)
		c->failed = true;
	return ret;
}

/* ---- the poll loop side ---- */

int ws_client_http_status(const struct ws_client *c)
{
	return c->http_status;
}

const char *ws_client_http_body(const struct ws_client *c, size_t *len)
{
	if (len)
		*len = c->http_body.len;
	return c->http_body.data;
}

const char *ws_client_subprotocol(const struct ws_client *c)
{
	return c->subprotocol[0] ? c->subprotocol : NULL;
}

static size_t out_pending(const struct ws_client *c)
{
	return c->out.len - c->out_off;
}

bool ws_client_closed(const struct ws_client *c)
{
	if (!c->ws || c->failed || c->eof)
		return true;
	/* wslay counts its close frame as sent once it is in the out buffer. */
	return !wslay_event_want_read(c->ws) && !wslay_event_want_write(c->ws) &&
	       out_pending(c) == 0;
}

int ws_client_fd(const struct ws_client *c)
{
	return c->ws && !ws_client_closed(c) ? (int)c->fd : -1;
}

short ws_client_poll_events(const struct ws_client *c)
{
	short ev = 0;

	if (ws_client_closed(c))
		return 0;
	if (!c->paused && wslay_event_want_read(c->ws))
		ev |= POLLIN;
	if (wslay_event_want_write(c->ws) || out_pending(c) > 0)
		ev |= POLLOUT;
	return ev;
}

bool ws_client_has_buffered_input(const struct ws_client *c)
{
	if (ws_client_closed(c) || c->paused || !wslay_event_want_read(c->ws))
		return false;
	return c->early_off < c->early.len || (c->tls && gnutls_record_check_pending(c->tls) > 0);
}

void ws_client_pause_reading(struct ws_client *c, bool paused)
{
	c->paused = paused;
}

/* Sends what the out buffer holds, as far as the socket takes it. On CURLE_AGAIN, GnuTLS
 * keeps the record it already encrypted and wants the same call again: the retry asks for
 * the same length, from the same bytes (only appended to meanwhile, or moved to the front
 * whole). 0, or -1 with the error set. */
static int flush_out(struct ws_client *c)
{
	while (out_pending(c) > 0) {
		size_t want = c->out_retry ? c->out_retry : out_pending(c), n = 0;
		CURLcode rc = curl_easy_send(c->curl, c->out.data + c->out_off, want, &n);

		if (rc == CURLE_AGAIN || (rc == CURLE_OK && n == 0)) {
			c->out_retry = want;
			break;
		}
		if (rc != CURLE_OK) {
			set_error(c, "send failed: %s", curl_easy_strerror(rc));
			return -1;
		}
		c->out_retry = 0;
		c->out_off += n;
	}
	if (out_pending(c) > 0) {
		/* The socket is full. Once more than half the buffer was sent, the rest moves to
		 * the front (amortised: each byte moves at most once per doubling), so the buffer
		 * stays within twice the pending bound. GnuTLS's retry after CURLE_AGAIN does not
		 * read our bytes again: it sends the record it already encrypted. */
		if (c->out_off > out_pending(c)) {
			memmove(c->out.data, c->out.data + c->out_off, out_pending(c));
			c->out.len -= c->out_off;
			c->out_off = 0;
		}
		return 0;
	}
	/* All sent: a buffer that grew in a burst is given back. */
	buf_reset_shrink(&c->out, OUT_KEEP);
	c->out_off = 0;
	return 0;
}

/* wslay's control frames join the out buffer, which goes to the socket as far as it takes
 * it. 0, or -1 with the error set and the connection failed. */
static int send_queued(struct ws_client *c)
{
	bool had_error = c->error[0] != '\0';
	int r = wslay_event_want_write(c->ws) ? wslay_event_send(c->ws) : 0;

	if (r == 0 && flush_out(c) == 0)
		return 0;
	/* The peer may drop TCP right after its close frame (kubelet, 1.32 apiserver):
	 * failing to echo it is the normal end, not an error. */
	if (wslay_event_get_close_received(c->ws)) {
		c->eof = true;
		if (!had_error)
			c->error[0] = '\0';
		return 0;
	}
	set_error(c, "WebSocket send failed (wslay error %d)", r);
	c->failed = true;
	return -1;
}

int ws_client_on_ready(struct ws_client *c, short revents)
{
	int r;

	if (!c->ws || c->failed)
		return -1;
	if (ws_client_closed(c))
		return 0;
	if (!c->paused && wslay_event_want_read(c->ws) &&
	    ((revents & (POLLIN | POLLHUP | POLLERR)) || ws_client_has_buffered_input(c))) {
		c->read_budget = READ_BUDGET;
		r = wslay_event_recv(c->ws);
		if (r != 0 && !c->eof) {
			set_error(c, "WebSocket receive failed (wslay error %d)", r);
			c->failed = true;
			return -1;
		}
	}
	if (c->eof)
		return 0;
	return send_queued(c);
}

int ws_client_flush(struct ws_client *c)
{
	if (!c->ws || c->failed)
		return -1;
	if (ws_client_closed(c) || c->eof || (!wslay_event_want_write(c->ws) && out_pending(c) == 0))
		return 0;
	return send_queued(c);
}

/* Data messages are framed here, straight into the out buffer (ws_frame.h), not queued in
 * wslay: no copy of the message, no byte-by-byte masking, and they share the TLS record of
 * whatever else is waiting. Each is one final frame; wslay's control frames only ever come
 * between whole frames. */
int ws_client_send(struct ws_client *c, enum ws_opcode opcode, const void *data, size_t len)
{
	uint8_t key[WS_MASK_KEY_LEN];
	size_t size = ws_frame_size(len);
	uint8_t *room;

	if (ws_client_closed(c) || len > c->max_pending || c->close_queued ||
	    wslay_event_get_close_received(c->ws) || wslay_event_get_close_sent(c->ws))
		return -1;
	if (ws_client_pending_output(c) + len > c->max_pending)
		return 1;
	if (next_mask(c, key) != 0 || !(room = (uint8_t *)buf_room(&c->out, size)))
		return -1;
	buf_commit(&c->out, ws_frame_build(room, opcode == WS_OPCODE_TEXT ? 0x1 : 0x2, data, len,
					   key));
	return 0;
}

size_t ws_client_pending_output(const struct ws_client *c)
{
	return c->ws ? wslay_event_get_queued_msg_length(c->ws) + out_pending(c) : 0;
}

int ws_client_ping(struct ws_client *c)
{
	struct wslay_event_msg m = { .opcode = WSLAY_PING, .msg = NULL, .msg_length = 0 };

	if (ws_client_closed(c))
		return -1;
	return wslay_event_queue_msg(c->ws, &m) == 0 ? 0 : -1;
}

int ws_client_keepalive(struct ws_client *c, long long now)
{
	if (ws_client_closed(c) || !c->ws)
		return 0;
	/* While we hold reading back, the server's bytes wait in TCP: not silence. */
	if (c->paused)
		c->last_receive_ms = now;
	if (c->read_timeout_ms && now - c->last_receive_ms > c->read_timeout_ms) {
		set_error(c, "nothing from the server for %d ms (not even a pong)",
			  c->read_timeout_ms);
		c->failed = true;
		return -1;
	}
	if (c->ping_interval_ms && now - c->last_ping_ms >= c->ping_interval_ms) {
		c->last_ping_ms = now;
		if (ws_client_ping(c) != 0)
			return -1;
	}
	return 0;
}

long long ws_client_next_keepalive(const struct ws_client *c, long long now)
{
	long long t = -1;

	if (ws_client_closed(c) || !c->ws)
		return -1;
	if (c->ping_interval_ms)
		t = c->last_ping_ms + c->ping_interval_ms;
	if (c->read_timeout_ms && (t < 0 || c->last_receive_ms + c->read_timeout_ms + 1 < t))
		t = c->last_receive_ms + c->read_timeout_ms + 1;
	return t < 0 ? -1 : (t < now ? now : t);
}

long long ws_client_last_receive_ms(const struct ws_client *c)
{
	return c->last_receive_ms;
}

int ws_client_close(struct ws_client *c, uint16_t code, const char *reason)
{
	size_t n = reason ? strlen(reason) : 0;

	if (ws_client_closed(c))
		return -1;
	if (n > 123)
		n = 123;  /* a close frame's payload is at most 125 bytes, code included */
	if (wslay_event_queue_close(c->ws, code, (const uint8_t *)reason, n) != 0)
		return -1;
	c->close_queued = true;
	return 0;
}

void ws_client_close_info(const struct ws_client *c, struct ws_close_info *info)
{
	memset(info, 0, sizeof *info);
	info->error = c->error[0] ? c->error : NULL;
	if (!c->ws)
		return;
	info->close_received = wslay_event_get_close_received(c->ws);
	if (info->close_received)
		info->code_received = wslay_event_get_status_code_received(c->ws);
	else if (c->eof)
		info->code_received = WSLAY_CODE_ABNORMAL_CLOSURE;
	info->reason_received = c->close_reason;
	info->close_sent = wslay_event_get_close_sent(c->ws);
	if (info->close_sent)
		info->code_sent = wslay_event_get_status_code_sent(c->ws);
}
