#include "net/ws_handshake.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "core/encoding.h"

/* RFC 6455 section 1.3: the server proves it read our key by hashing it with this GUID. */
static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* Headers the handshake owns: letting a caller set them would break or fork the upgrade. */
static const char *const reserved_headers[] = {
	"host", "upgrade", "connection", "sec-websocket-key", "sec-websocket-version",
	"sec-websocket-protocol", "sec-websocket-extensions", "content-length",
	"transfer-encoding", NULL,
};

int ws_handshake_new_key(char key[WS_KEY_LEN + 1])
{
	unsigned char raw[16];
	char *b64 = NULL;
	int rc = -1;

	if (random_bytes(raw, sizeof raw) != 0)
		goto fail;
	b64 = b64_encode(raw, sizeof raw);
	if (!b64 || strlen(b64) != WS_KEY_LEN)
		goto fail;
	memcpy(key, b64, WS_KEY_LEN + 1);
	rc = 0;
fail:
	free(b64);
	return rc;
}

int ws_handshake_accept_for(const char *key, char out[WS_ACCEPT_LEN + 1])
{
	char joined[128];
	unsigned char digest[20];
	char *b64 = NULL;
	int n, rc = -1;

	n = snprintf(joined, sizeof joined, "%s%s", key, ws_guid);
	if (n < 0 || (size_t)n >= sizeof joined)
		goto fail;
	if (gnutls_hash_fast(GNUTLS_DIG_SHA1, joined, (size_t)n, digest) != 0)
		goto fail;
	b64 = b64_encode(digest, sizeof digest);
	if (!b64 || strlen(b64) != WS_ACCEPT_LEN)
		goto fail;
	memcpy(out, b64, WS_ACCEPT_LEN + 1);
	rc = 0;
fail:
	free(b64);
	return rc;
}

static bool is_tchar(unsigned char ch)
{
	return isalnum(ch) || (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

int ws_handshake_check_header(const char *line, char *err, size_t errlen)
{
	size_t name_len = 0;

	while (line[name_len] && is_tchar((unsigned char)line[name_len]))
		name_len++;
	if (name_len == 0 || line[name_len] != ':') {
		snprintf(err, errlen, "extra header %zu bytes long is not \"Name: value\"",
			 strlen(line));
		goto fail;
	}
	if (strpbrk(line, "\r\n")) {
		snprintf(err, errlen, "header %.*s contains a line break", (int)name_len, line);
		goto fail;
	}
	for (const char *const *r = reserved_headers; *r; r++) {
		if (strlen(*r) == name_len && strncasecmp(*r, line, name_len) == 0) {
			snprintf(err, errlen, "header %.*s is set by the WebSocket handshake itself",
				 (int)name_len, line);
			goto fail;
		}
	}
	return 0;
fail:
	return -1;
}

/* A request-target or Host value goes on the request line verbatim: no spaces or controls. */
static bool is_wire_safe(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s == 0x7f)
			return false;
	return true;
}

int ws_handshake_request(struct buf *out, const char *target, const char *host,
			 const char *key, const char *const *subprotocols,
			 const char *const *headers, const char *user_agent)
{
	if (!is_wire_safe(target) || target[0] != '/' || !is_wire_safe(host) ||
	    strpbrk(user_agent, "\r\n"))
		goto fail;
	if (buf_printf(out,
		       "GET %s HTTP/1.1\r\n"
		       "Host: %s\r\n"
		       "User-Agent: %s\r\n"
		       "Upgrade: websocket\r\n"
		       "Connection: Upgrade\r\n"
		       "Sec-WebSocket-Key: %s\r\n"
		       "Sec-WebSocket-Version: 13\r\n",
		       target, host, user_agent, key) != 0)
		goto fail;
	/* One line only: the apiserver reads just the first Sec-WebSocket-Protocol line. */
	if (subprotocols && subprotocols[0]) {
		if (buf_append_str(out, "Sec-WebSocket-Protocol: ") != 0)
			goto fail;
		for (size_t i = 0; subprotocols[i]; i++) {
			if (!is_wire_safe(subprotocols[i]) || strchr(subprotocols[i], ','))
				goto fail;
			if (buf_printf(out, "%s%s", i ? ", " : "", subprotocols[i]) != 0)
				goto fail;
		}
		if (buf_append_str(out, "\r\n") != 0)
			goto fail;
	}
	for (size_t i = 0; headers && headers[i]; i++)
		if (buf_printf(out, "%s\r\n", headers[i]) != 0)
			goto fail;
	if (buf_append_str(out, "\r\n") != 0)
		goto fail;
	return 0;
fail:
	return -1;
}

size_t ws_handshake_head_end(const char *data, size_t len)
{
	const char *end = memmem(data, len, "\r\n\r\n", 4);

	return end ? (size_t)(end - data) + 4 : 0;
}

static bool name_is(const char *name, size_t name_len, const char *want)
{
	return strlen(want) == name_len && strncasecmp(name, want, name_len) == 0;
}

/* True when the comma-separated list value (length len) holds token, ignoring case. */
static bool list_has_token(const char *value, size_t len, const char *token)
{
	size_t tlen = strlen(token), i = 0;

	while (i < len) {
		size_t start, end;

		while (i < len && (value[i] == ' ' || value[i] == '\t' || value[i] == ','))
			i++;
		start = i;
		while (i < len && value[i] != ',')
			i++;
		end = i;
		while (end > start && (value[end - 1] == ' ' || value[end - 1] == '\t'))
			end--;
		if (end - start == tlen && strncasecmp(value + start, token, tlen) == 0)
			return true;
	}
	return false;
}

static int copy_value(char *dst, size_t dstlen, const char *value, size_t len)
{
	if (len >= dstlen)
		return -1;
	memcpy(dst, value, len);
	dst[len] = '\0';
	return 0;
}

static int parse_status_line(const char *line, size_t len, int *status)
{
	/* "HTTP/1.x SP 3DIGIT [SP reason]" */
	if (len < 12 || strncmp(line, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)line[7]) ||
	    line[8] != ' ' || !isdigit((unsigned char)line[9]) ||
	    !isdigit((unsigned char)line[10]) || !isdigit((unsigned char)line[11]) ||
	    (len > 12 && line[12] != ' '))
		return -1;
	*status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
	return *status >= 100 ? 0 : -1;
}

static int parse_content_length(const char *value, size_t len, long long *out)
{
	long long n = 0;

	if (len == 0 || len > 15)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)value[i]))
			return -1;
		n = n * 10 + (value[i] - '0');
	}
	if (*out >= 0 && *out != n)
		return -1;  /* two different lengths: a smuggling shape, refuse */
	*out = n;
	return 0;
}

static int parse_header(const char *line, size_t len, struct ws_http_head *h,
			char *err, size_t errlen)
{
	const char *colon = memchr(line, ':', len), *value;
	size_t name_len, value_len;

	if (!colon || colon == line || line[0] == ' ' || line[0] == '\t') {
		snprintf(err, errlen, "malformed header line in the server's answer");
		goto fail;
	}
	name_len = (size_t)(colon - line);
	value = colon + 1;
	value_len = len - name_len - 1;
	while (value_len && (*value == ' ' || *value == '\t'))
		value++, value_len--;
	while (value_len && (value[value_len - 1] == ' ' || value[value_len - 1] == '\t'))
		value_len--;

	if (name_is(line, name_len, "upgrade")) {
		h->upgrade_websocket = value_len == 9 && strncasecmp(value, "websocket", 9) == 0;
	} else if (name_is(line, name_len, "connection")) {
		h->connection_upgrade |= list_has_token(value, value_len, "upgrade");
	} else if (name_is(line, name_len, "sec-websocket-accept")) {
		if (copy_value(h->accept, sizeof h->accept, value, value_len) != 0) {
			snprintf(err, errlen, "Sec-WebSocket-Accept is too long");
			goto fail;
		}
	} else if (name_is(line, name_len, "sec-websocket-protocol")) {
		h->protocol_lines++;
		if (copy_value(h->protocol, sizeof h->protocol, value, value_len) != 0) {
			snprintf(err, errlen, "Sec-WebSocket-Protocol is too long");
			goto fail;
		}
	} else if (name_is(line, name_len, "sec-websocket-extensions")) {
		h->has_extensions = true;
	} else if (name_is(line, name_len, "content-length")) {
		if (parse_content_length(value, value_len, &h->content_length) != 0) {
			snprintf(err, errlen, "bad Content-Length in the server's answer");
			goto fail;
		}
	} else if (name_is(line, name_len, "transfer-encoding")) {
		h->chunked = list_has_token(value, value_len, "chunked");
	}
	return 0;
fail:
	return -1;
}

int ws_handshake_parse_head(const char *data, size_t len, struct ws_http_head *h,
			    char *err, size_t errlen)
{
	const char *p = data, *end = data + len, *eol;
	bool first = true;

	memset(h, 0, sizeof *h);
	h->content_length = -1;
	while (p < end) {
		eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (!eol)
			eol = end;
		if (eol == p)
			break;  /* the empty line that ends the head */
		if (memchr(p, '\0', (size_t)(eol - p))) {
			snprintf(err, errlen, "NUL byte in the server's answer head");
			goto fail;
		}
		if (first) {
			if (parse_status_line(p, (size_t)(eol - p), &h->status) != 0) {
				snprintf(err, errlen, "the server did not answer with HTTP/1.x");
				goto fail;
			}
			first = false;
		} else if (parse_header(p, (size_t)(eol - p), h, err, errlen) != 0) {
			goto fail;
		}
		p = eol + 2;
	}
	if (first) {
		snprintf(err, errlen, "empty answer from the server");
		goto fail;
	}
	return 0;
fail:
	return -1;
}

int ws_handshake_check_101(const struct ws_http_head *h, const char *key,
			   const char *const *offered, const char **chosen,
			   char *err, size_t errlen)
{
	char expected[WS_ACCEPT_LEN + 1];
	bool any_offered = offered && offered[0];

	*chosen = NULL;
	if (h->status != 101) {
		snprintf(err, errlen, "server answered HTTP %d instead of 101", h->status);
		goto fail;
	}
	if (!h->upgrade_websocket || !h->connection_upgrade) {
		snprintf(err, errlen, "101 answer lacks Upgrade: websocket / Connection: Upgrade");
		goto fail;
	}
	if (ws_handshake_accept_for(key, expected) != 0) {
		snprintf(err, errlen, "cannot compute Sec-WebSocket-Accept");
		goto fail;
	}
	if (strcmp(h->accept, expected) != 0) {
		snprintf(err, errlen, "Sec-WebSocket-Accept does not match the key");
		goto fail;
	}
	if (h->has_extensions) {
		snprintf(err, errlen, "server enabled a WebSocket extension that was not offered");
		goto fail;
	}
	if (!any_offered) {
		if (h->protocol_lines) {
			snprintf(err, errlen, "server chose a subprotocol although none was offered");
			goto fail;
		}
		return 0;
	}
	if (h->protocol_lines != 1 || !h->protocol[0]) {
		snprintf(err, errlen, "server chose no subprotocol (offered %s%s)", offered[0],
			 offered[1] ? ", ..." : "");
		goto fail;
	}
	for (size_t i = 0; offered[i]; i++) {
		if (strcmp(offered[i], h->protocol) == 0) {
			*chosen = h->protocol;
			return 0;
		}
	}
	snprintf(err, errlen, "server chose subprotocol \"%.64s\", which was not offered",
		 h->protocol);
fail:
	return -1;
}

/* Appends what fits under out->max: a refusal body is shown to a person, a prefix is fine. */
static int append_truncated(struct buf *out, const char *data, size_t len)
{
	size_t room = out->max - out->len;

	return buf_append(out, data, len < room ? len : room);
}

/* Decodes "size[;ext]\r\n data \r\n ... 0\r\n" (RFC 9112 section 7.1). */
static int dechunk(const char *raw, size_t rawlen, struct buf *out)
{
	size_t pos = 0;

	buf_reset(out);
	for (;;) {
		const char *eol = memmem(raw + pos, rawlen - pos, "\r\n", 2);
		unsigned long long size = 0;
		size_t i = pos, digits = 0;

		if (!eol)
			return 0;
		while (raw + i < eol && isxdigit((unsigned char)raw[i]) && digits < 12) {
			char c = (char)tolower((unsigned char)raw[i]);

			size = size * 16 + (unsigned)(isdigit((unsigned char)c) ? c - '0' : c - 'a' + 10);
			i++, digits++;
		}
		if (digits == 0 || (raw + i < eol && raw[i] != ';' && raw[i] != ' '))
			return -1;
		pos = (size_t)(eol - raw) + 2;
		if (size == 0)
			return 1;  /* trailers are of no interest */
		if (size > rawlen - pos || rawlen - pos - size < 2)
			return 0;
		if (raw[pos + size] != '\r' || raw[pos + size + 1] != '\n')
			return -1;
		if (append_truncated(out, raw + pos, (size_t)size) != 0)
			return -1;
		pos += (size_t)size + 2;
	}
}

int ws_handshake_body(const struct ws_http_head *h, const char *raw, size_t rawlen,
		      struct buf *out)
{
	if (h->status == 204 || h->status == 304 || h->status < 200) {
		buf_reset(out);
		return 1;
	}
	if (h->chunked)
		return dechunk(raw, rawlen, out);
	if (h->content_length >= 0) {
		if ((unsigned long long)rawlen < (unsigned long long)h->content_length)
			return 0;
		buf_reset(out);
		return append_truncated(out, raw, (size_t)h->content_length) == 0 ? 1 : -1;
	}
	return 0;  /* delimited by the end of the stream */
}
