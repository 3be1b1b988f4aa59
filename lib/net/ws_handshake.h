/* The HTTP/1.1 side of a WebSocket client handshake (RFC 6455 section 4): the Upgrade
 * request, the parse of the server's answer head, the checks a 101 must pass, and the
 * body of a non-101 answer. Pure functions on bytes, so they are unit-tested and fuzzed
 * without a socket; lib/net/wsclient.c does the I/O. */
#ifndef PERISCOPE_WS_HANDSHAKE_H
#define PERISCOPE_WS_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

#define WS_KEY_LEN 24     /* base64 of 16 bytes */
#define WS_ACCEPT_LEN 28  /* base64 of a SHA-1 digest */
#define WS_HEAD_MAX (16 * 1024)
#define WS_BODY_MAX (64 * 1024)

/* A fresh Sec-WebSocket-Key (16 random bytes, base64). 0 or -1. */
int ws_handshake_new_key(char key[WS_KEY_LEN + 1]);
/* base64(SHA-1(key + GUID)), the Sec-WebSocket-Accept the server must answer. 0 or -1. */
int ws_handshake_accept_for(const char *key, char out[WS_ACCEPT_LEN + 1]);

/* Checks an extra request header: "Name: value" with a token name, no CR/LF, and not one
 * of the headers the handshake itself sets. 0 or -1 (the message names the header name,
 * never the value, which may be a token). */
int ws_handshake_check_header(const char *line, char *err, size_t errlen);

/* Appends the whole GET request (terminated by the empty line) to out. */
int ws_handshake_request(struct buf *out, const char *target, const char *host,
			 const char *key, const char *const *subprotocols,
			 const char *const *headers, const char *user_agent);

/* Offset just past the "\r\n\r\n" that ends the head, or 0 when it is not complete. */
size_t ws_handshake_head_end(const char *data, size_t len);

/* The parts of an answer head the client looks at. Strings are bounded copies. */
struct ws_http_head {
	int status;
	bool upgrade_websocket;      /* Upgrade: websocket */
	bool connection_upgrade;     /* Connection has the "upgrade" token */
	char accept[64];             /* Sec-WebSocket-Accept */
	char protocol[128];          /* Sec-WebSocket-Protocol ("" if absent) */
	int protocol_lines;          /* how many Sec-WebSocket-Protocol lines */
	bool has_extensions;         /* any Sec-WebSocket-Extensions */
	long long content_length;    /* -1 if absent */
	bool chunked;                /* Transfer-Encoding: chunked */
};

/* Parses the status line and headers (data holds exactly the head, as delimited by
 * ws_handshake_head_end). 0 or -1 with err. */
int ws_handshake_parse_head(const char *data, size_t len, struct ws_http_head *h,
			    char *err, size_t errlen);

/* Checks a 101 answer against the key and the offered subprotocols (NULL = none offered).
 * On success *chosen points into h->protocol (NULL when none was offered). 0 or -1. */
int ws_handshake_check_101(const struct ws_http_head *h, const char *key,
			   const char *const *offered, const char **chosen,
			   char *err, size_t errlen);

/* Given the body bytes read so far, says whether the body of a non-101 answer is complete:
 * 1 complete (out holds the decoded body, truncated to out->max), 0 need more bytes (or the
 * end of the stream, when the length is only known from it), -1 malformed chunking. */
int ws_handshake_body(const struct ws_http_head *h, const char *raw, size_t rawlen,
		      struct buf *out);

#endif
