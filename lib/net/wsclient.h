/* A non-blocking WebSocket client for one upstream connection (the Kubernetes exec stream,
 * the SSM data channel), made to sit in a single-threaded poll() loop.
 *
 * libcurl does TCP + TLS (CURLOPT_CONNECT_ONLY, HTTP/1.1 forced: an h2 ALPN answer breaks
 * curl_easy_recv); this file writes the HTTP/1.1 Upgrade request and checks the 101; wslay
 * parses what the server sends and does ping/pong and the close handshake on top of
 * curl_easy_recv. Outgoing data frames are built and masked here (net/ws_frame.h) into one
 * out buffer that wslay's control frames join whole; what is queued goes to curl_easy_send
 * together (one TLS record and one send() for all the frames that fit).
 *
 * Use:
 *   struct ws_client *c = ws_client_new(&opts, err, errlen);
 *   if (ws_client_connect(c, err, errlen) != 0) {       // blocking, bounded by the timeout
 *           ws_client_http_status(c), ws_client_http_body(c, &n) say what the server answered
 *           when it was HTTP but not 101 (the apiserver sends a metav1.Status JSON body) }
 *   loop: pfd = { ws_client_fd(c), ws_client_poll_events(c) };
 *         timeout = ws_client_has_buffered_input(c) ? 0 : your_timer;
 *         poll(...); ws_client_on_ready(c, pfd.revents);  // call it after every poll()
 *         until ws_client_closed(c);
 *   ws_client_free(c);
 *
 * Bounds: received messages larger than max_message end the connection with close code
 * 1009; the send queue refuses messages beyond max_pending (ws_client_send returns 1) so
 * the caller can stop reading its own input until ws_client_pending_output() drops. One
 * ws_client_on_ready() call reads at most a fixed budget, so a fast peer cannot starve the
 * other file descriptors of the loop. No allocation per received message (one reusable
 * buffer); a sent message is copied once, masked on the way into the out buffer. */
#ifndef PERISCOPE_WSCLIENT_H
#define PERISCOPE_WSCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ws_opcode { WS_OPCODE_TEXT = 1, WS_OPCODE_BINARY = 2 };

/* A complete received data message (fragments already joined). data is valid only during
 * the call. */
typedef void (*ws_message_fn)(void *userdata, enum ws_opcode opcode, const uint8_t *data,
			      size_t len);

struct ws_client_opts {
	const char *url;                  /* ws://host[:port]/path?query or wss://... */
	const char *ca_file;              /* PEM bundle to trust; NULL = the system store */
	const char *cert_file;            /* client certificate (PEM) and its key, or NULL */
	const char *key_file;
	const char *connect_to;           /* "host:port:addr:port" (CURLOPT_CONNECT_TO), or NULL */
	const char *const *headers;       /* NULL-terminated "Name: value" lines (Authorization,
	                                     Impersonate-*); they never appear in errors */
	const char *const *subprotocols;  /* NULL-terminated offer, sent on ONE header line; the
	                                     server must pick one of them. NULL = none */
	const char *user_agent;           /* NULL = "periscope" */
	int connect_timeout_ms;           /* TCP + TLS + upgrade; 0 = 10 s */
	size_t max_message;               /* largest message accepted; 0 = 1 MiB */
	size_t max_pending;               /* send-queue bound in bytes; 0 = 4 MiB */
	int ping_interval_ms;             /* keepalive: a ping this often; 0 = none */
	int read_timeout_ms;              /* nothing received (data or pong) for this long ends
	                                     the connection; 0 = no deadline */
	ws_message_fn on_message;         /* may be NULL */
	void *userdata;
};

struct ws_client;

/* What the connection ended with (all zero/NULL while it is open). */
struct ws_close_info {
	bool close_received;     /* the peer sent a close frame */
	uint16_t code_received;  /* its code; 1005 when it had none; 1006 when TCP ended
	                            without a close frame */
	const char *reason_received;  /* its reason text ("" if none) */
	bool close_sent;
	uint16_t code_sent;      /* e.g. 1009 after an oversized message */
	const char *error;       /* local error text, or NULL when the end was clean */
};

/* Copies the options (strings included) and validates them. NULL and err on failure. */
struct ws_client *ws_client_new(const struct ws_client_opts *opts, char *err, size_t errlen);

/* Connects, sends the upgrade and checks the answer: 101, Upgrade/Connection headers, the
 * Sec-WebSocket-Accept digest, a subprotocol from the offer, no extension. Blocks for at
 * most connect_timeout_ms (plus libcurl's name resolution). Messages that arrived together
 * with the 101 are delivered to on_message before it returns. 0 or -1 with err; after -1
 * the client only answers the http_status/http_body queries and must still be freed.
 * libcurl must be initialised (curl_global_init) by the program before the first call. */
int ws_client_connect(struct ws_client *c, char *err, size_t errlen);

/* The HTTP status of the upgrade answer (101 once connected; e.g. 403 after a refusal;
 * 0 when no HTTP answer was read). */
int ws_client_http_status(const struct ws_client *c);
/* The body of a non-101 answer (NUL-terminated, at most 64 KiB), or NULL. */
const char *ws_client_http_body(const struct ws_client *c, size_t *len);
/* The subprotocol the server chose, or NULL. */
const char *ws_client_subprotocol(const struct ws_client *c);

/* The socket to poll (-1 before connect or after the end). */
int ws_client_fd(const struct ws_client *c);
/* POLLIN while reading (and not paused), plus POLLOUT while output is queued; 0 at the end. */
short ws_client_poll_events(const struct ws_client *c);
/* True when bytes are already buffered in user space (TLS records decrypted but not yet
 * consumed, handshake leftovers): poll() with a zero timeout, then call on_ready. */
bool ws_client_has_buffered_input(const struct ws_client *c);
/* Reads (within the budget) and writes what the socket allows, delivering messages to
 * on_message. Call it after every poll(), with that poll's revents. Returns 0, or -1 when
 * the connection failed (ws_client_close_info().error says why). */
int ws_client_on_ready(struct ws_client *c, short revents);
/* Writes what is queued (messages, wslay's pongs and pings) as far as the socket takes it
 * now, without reading: for a caller that queued a message outside the pass after poll(),
 * which would otherwise leave only after one more poll() (a keystroke's round trip pays
 * that wake-up). 0 (the rest, if any, waits for POLLOUT), or -1 as ws_client_on_ready. */
int ws_client_flush(struct ws_client *c);

/* Backpressure towards the server: while paused, nothing is read (so TCP pushes back). */
void ws_client_pause_reading(struct ws_client *c, bool paused);

/* Queues one message. 0 queued; 1 refused because pending output would exceed
 * max_pending (retry after the queue drains); -1 the connection is not open. */
int ws_client_send(struct ws_client *c, enum ws_opcode opcode, const void *data, size_t len);
/* Bytes queued but not yet handed to the kernel. */
size_t ws_client_pending_output(const struct ws_client *c);
/* Queues a ping with an empty payload (keepalive). 0 or -1. */
int ws_client_ping(struct ws_client *c);
/* Keepalive, called from the loop's timer: sends a ping every ping_interval_ms and fails
 * the connection (-1, close info error set) when nothing arrived for read_timeout_ms, as
 * client-go's exec stream does (tools/remotecommand/websocket.go: PingPeriod 5 s, read
 * deadline 12 periods + 1 s). The pings keep proxies that cut silent connections (L7 at
 * 60 s, an NLB at 350 s) from cutting an idle shell; TCP keepalive is always on under it. */
int ws_client_keepalive(struct ws_client *c, long long now);
/* When ws_client_keepalive() next has something to do (monotonic ms), or -1. */
long long ws_client_next_keepalive(const struct ws_client *c, long long now);
/* monotonic_ms() of the last byte received from the server (to detect a dead peer). */
long long ws_client_last_receive_ms(const struct ws_client *c);

/* Starts the close handshake (code 1000 for a normal end). Keep polling until
 * ws_client_closed(); the peer's close frame ends it. 0 or -1. */
int ws_client_close(struct ws_client *c, uint16_t code, const char *reason);
/* True when nothing more will happen: both close frames exchanged, TCP ended, or error. */
bool ws_client_closed(const struct ws_client *c);
void ws_client_close_info(const struct ws_client *c, struct ws_close_info *info);

void ws_client_free(struct ws_client *c);

#endif
