#include "request.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/http_client.h"
#include "core/log.h"
#include "core/utf8.h"

static const char *status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 302: return "Found";
	case 303: return "See Other";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 426: return "Upgrade Required";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Status";
	}
}

const char *request_env(const struct request *rq, const char *name)
{
	return FCGX_GetParam(name, rq->fcgx->envp);
}

int request_json_body(struct request *rq, size_t max, json_t **out, char *err, size_t errlen)
{
	const char *cl = request_env(rq, "CONTENT_LENGTH");
	char *end, *body = NULL;
	json_error_t jerr;
	unsigned long len;
	int got, rc = -1;

	*out = NULL;
	len = cl && *cl ? strtoul(cl, &end, 10) : 0;
	if (!cl || !*cl || *end || len == 0) {
		snprintf(err, errlen, "a JSON object body is required");
		goto fail;
	}
	if (len > max) {
		snprintf(err, errlen, "the body is larger than %zu bytes", max);
		goto fail;
	}
	body = malloc(len);
	if (!body) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	got = FCGX_GetStr(body, (int)len, rq->fcgx->in);
	if (got < 0 || (unsigned long)got != len) {
		snprintf(err, errlen, "the body ended before its Content-Length");
		goto fail;
	}
	*out = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!*out || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		snprintf(err, errlen, "the body is not a JSON object");
		goto fail;
	}
	rc = 0;
fail:
	if (body) {
		/* it may hold a token */
		explicit_bzero(body, len);
		free(body);
	}
	return rc;
}

/* A client-chosen request id is kept when it is short and plain; otherwise a UUID. */
static void choose_request_id(struct request *rq)
{
	const char *given = request_env(rq, "HTTP_X_REQUEST_ID");
	uint8_t u[SSM_UUID_LEN];

	if (given && *given && strlen(given) < sizeof rq->request_id &&
	    strspn(given, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
		    strlen(given)) {
		strcpy(rq->request_id, given);
		return;
	}
	ssm_uuid_generate_pooled(&rq->w->request_ids, u);
	ssm_uuid_format(u, rq->request_id);
}

int request_init(struct request *rq, FCGX_Request *fcgx, struct worker *w)
{
	const char *uri, *q, *role, *https;

	memset(rq, 0, sizeof *rq);
	rq->fcgx = fcgx;
	rq->w = w;
	buf_init(&rq->headers, 16384);
	choose_request_id(rq);
	rq->method = request_env(rq, "REQUEST_METHOD");
	if (!rq->method)
		rq->method = "GET";
	uri = request_env(rq, "REQUEST_URI");
	rq->request_uri = uri ? uri : "/";
	q = strchr(rq->request_uri, '?');
	rq->path = q ? strndup(rq->request_uri, (size_t)(q - rq->request_uri)) : strdup(rq->request_uri);
	rq->query_string = q ? q + 1 : "";
	rq->cookie_header = request_env(rq, "HTTP_COOKIE");
	rq->accept = request_env(rq, "HTTP_ACCEPT");
	role = request_env(rq, "FCGI_ROLE");
	rq->authorizer = role && strcmp(role, "AUTHORIZER") == 0;
	https = request_env(rq, "HTTPS");
	rq->tls = (https && strcasecmp(https, "on") == 0) ||
		  strncmp(w->cfg->server.public_url, "https://", 8) == 0;
	return rq->path ? 0 : -1;
}

void request_cleanup(struct request *rq)
{
	free(rq->path);
	query_free(&rq->query);
	for (int i = 0; i < ROUTE_MAX_PARAMS; i++)
		free(rq->params[i]);
	identity_clear(&rq->identity);
	buf_free(&rq->headers);
}

void add_header(struct request *rq, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (buf_vprintf(&rq->headers, fmt, ap) != 0 || buf_append_str(&rq->headers, "\r\n") != 0)
		log_msg(LOG_ERROR, "fcgi", "response headers too long for %s", rq->path);
	va_end(ap);
}

void set_cookie(struct request *rq, const char *name, const char *value, const char *path,
		long max_age)
{
	const char *domain = rq->w->cfg->session.cookie_domain;

	add_header(rq, "Set-Cookie: %s=%s; Path=%s; Max-Age=%ld; HttpOnly; SameSite=Lax%s%s%s", name,
		   max_age < 0 ? "" : value, path, max_age < 0 ? 0L : max_age,
		   rq->tls ? "; Secure" : "", domain && *domain ? "; Domain=" : "",
		   domain && *domain ? domain : "");
}

/* Appends n in decimal. 0, or -1 as buf_append. */
static int append_size(struct buf *b, size_t n)
{
	char digits[24];
	size_t i = sizeof digits;

	do {
		digits[--i] = (char)('0' + n % 10);
		n /= 10;
	} while (n);
	return buf_append(b, digits + i, sizeof digits - i);
}

/* The status line and headers of an answer of len bytes. Appended piece by piece, not
 * formatted: printf-style formatting was a tenth of a small API answer's instructions.
 * 0, or -1 when the head could not be built (out of memory, or past its bound): then a
 * bare 500 head went out instead, and the caller sends no body after it. */
static int put_head(struct request *rq, int status, const char *content_type, size_t len)
{
	FCGX_Stream *out = rq->fcgx->out;
	struct buf head;
	int rc = 0;

	buf_init(&head, 32768);
	if (!buf_room(&head, 512)) /* a typical head at once */
		goto fail;
	rc |= buf_append_str(&head, "Status: ");
	rc |= append_size(&head, (size_t)status);
	rc |= buf_append_str(&head, " ");
	rc |= buf_append_str(&head, status_text(status));
	rc |= buf_append_str(&head, "\r\nX-Request-Id: ");
	rc |= buf_append_str(&head, rq->request_id);
	rc |= buf_append_str(&head, "\r\nCache-Control: no-store\r\n");
	/* The web server sets the security headers on every answer (conf/), replacing ours. An
	 * authorizer's answer is the exception: Apache sends its refusal as an error document,
	 * to which mod_headers can add but from which it cannot remove, so a copy from us would
	 * be doubled. Only the two supported web servers ask an authorizer anyway. */
	if (!rq->authorizer)
		rc |= buf_append_str(&head, "X-Content-Type-Options: nosniff\r\n");
	if (content_type) {
		rc |= buf_append_str(&head, "Content-Type: ");
		rc |= buf_append_str(&head, content_type);
		rc |= buf_append_str(&head, "\r\nContent-Length: ");
		rc |= append_size(&head, len);
		rc |= buf_append_str(&head, "\r\n");
	}
	if (rq->headers.len)
		rc |= buf_append(&head, rq->headers.data, rq->headers.len);
	rc |= buf_append_str(&head, "\r\n");
	if (rc != 0)
		goto fail;
	FCGX_PutStr(head.data, (int)head.len, out);
	buf_free(&head);
	return 0;
fail:
	FCGX_PutS("Status: 500 Internal Server Error\r\nCache-Control: no-store\r\n\r\n", out);
	buf_free(&head);
	return -1;
}

void respond_raw(struct request *rq, int status, const char *content_type, const char *body,
		 size_t len)
{
	if (rq->answered)
		return;
	rq->answered = true;
	if (put_head(rq, status, content_type, len) == 0 && len)
		FCGX_PutStr(body, (int)len, rq->fcgx->out);
}

int respond_fd(struct request *rq, int status, const char *content_type, int fd, size_t len)
{
	char chunk[65536];
	size_t sent = 0;

	if (rq->answered)
		return -1;
	rq->answered = true;
	if (put_head(rq, status, content_type, len) != 0)
		return -1;
	while (sent < len) {
		size_t want = len - sent < sizeof chunk ? len - sent : sizeof chunk;
		ssize_t n = read(fd, chunk, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || FCGX_PutStr(chunk, (int)n, rq->fcgx->out) != (int)n)
			return -1; /* the length was promised: the web server sees a short answer */
		sent += (size_t)n;
	}
	return 0;
}

void respond_json(struct request *rq, int status, json_t *body)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

	json_decref(body);
	if (!text) {
		static const char fallback[] = "{\"code\":\"E_INTERNAL\",\"message\":\"out of memory\"}";
		respond_raw(rq, 500, "application/json", fallback, sizeof fallback - 1);
		return;
	}
	respond_raw(rq, status, "application/json", text, strlen(text));
	free(text);
}

void respond_error(struct request *rq, int status, const char *code, const char *message,
		   json_t *extras)
{
	/* A message may quote what the client sent; JSON needs it to be UTF-8. */
	char *clean = utf8_sanitize((const unsigned char *)message, strlen(message), NULL);
	json_t *body = json_pack("{s:s, s:s}", "code", code, "message", clean ? clean : "");

	if (body && extras)
		json_object_update_missing(body, extras);
	json_decref(extras);
	free(clean);
	respond_json(rq, status, body);
}

void respond_redirect(struct request *rq, const char *location)
{
	add_header(rq, "Location: %s", location);
	respond_raw(rq, 302, NULL, NULL, 0);
}

void respond_see_other(struct request *rq, const char *location)
{
	add_header(rq, "Location: %s", location);
	respond_raw(rq, 303, NULL, NULL, 0);
}

bool is_page_navigation(const struct request *rq)
{
	return strcmp(rq->method, "GET") == 0 && rq->accept && strstr(rq->accept, "text/html") &&
	       !rq->authorizer;
}

void respond_unauthenticated(struct request *rq)
{
	if (is_page_navigation(rq)) {
		/* Back to where the browser was going once signed in. */
		char *target = http_escape(rq->request_uri);
		struct buf loc;

		buf_init(&loc, 8192);
		if (target && buf_printf(&loc, "/api/auth/login?returnTo=%s", target) == 0)
			respond_redirect(rq, loc.data);
		else
			respond_redirect(rq, "/api/auth/login");
		buf_free(&loc);
		free(target);
		return;
	}
	add_header(rq, "WWW-Authenticate: Cookie realm=\"periscope\"");
	respond_error(rq, 401, "E_AUTH", "sign in first", NULL);
}
