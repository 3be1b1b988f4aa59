/* One FastCGI request: what the handlers read (method, path, query, cookie, request id,
 * identity) and how they answer (JSON bodies, {"code","message"} errors, redirects,
 * cookies). Every answer carries X-Request-Id. */
#ifndef PERISCOPE_FCGI_REQUEST_H
#define PERISCOPE_FCGI_REQUEST_H

#include <fcgiapp.h>
#include <jansson.h>
#include <stdbool.h>

#include "app.h"
#include "auth/auth.h"
#include "core/buf.h"
#include "core/route_match.h"
#include "core/urlcode.h"


struct request {
	FCGX_Request *fcgx;
	struct worker *w;
	const char *method;
	const char *request_uri;
	char *path;                      /* raw path part of REQUEST_URI */
	const char *query_string;        /* raw */
	struct query_params query;       /* decoded */
	const char *cookie_header;
	const char *accept;
	char request_id[65];
	bool tls;
	bool authorizer;                 /* FCGI_ROLE=AUTHORIZER (gate before a WebSocket) */
	const char *route;               /* the matched pattern, for the audit */
	char *params[ROUTE_MAX_PARAMS];  /* decoded {placeholders} of the matched route */
	struct identity identity;
	bool authenticated;
	struct buf headers;              /* extra response header lines */
	bool answered;
};

int request_init(struct request *rq, FCGX_Request *fcgx, struct worker *w);
void request_cleanup(struct request *rq);
const char *request_env(const struct request *rq, const char *name);

/* The request body (Content-Length bytes, at most max) parsed as a JSON object. 0 and *out;
 * -1 with a message for the client in err (too large, not JSON, not an object). */
int request_json_body(struct request *rq, size_t max, json_t **out, char *err, size_t errlen);

void add_header(struct request *rq, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Set-Cookie with HttpOnly, SameSite=Lax, Path, and Secure over TLS. max_age < 0 clears. */
void set_cookie(struct request *rq, const char *name, const char *value, const char *path,
		long max_age);

void respond_raw(struct request *rq, int status, const char *content_type, const char *body,
		 size_t len);
/* len bytes read from fd as the body, streamed in chunks (a file of any size). 0, or -1
 * when the file gave fewer bytes or the client went away. */
int respond_fd(struct request *rq, int status, const char *content_type, int fd, size_t len);
/* Consumes body. */
void respond_json(struct request *rq, int status, json_t *body);
/* {"code":code,"message":message, ...extras}; consumes extras (may be NULL). */
void respond_error(struct request *rq, int status, const char *code, const char *message,
		   json_t *extras);
void respond_redirect(struct request *rq, const char *location);
/* 303 See Other: where to go after a POST (the browser follows with a GET). */
void respond_see_other(struct request *rq, const char *location);
/* A browser loading a page (GET asking for HTML, no API authorizer) rather than a script
 * asking for JSON: such a request gets a page or a redirect to one instead of a JSON body. */
bool is_page_navigation(const struct request *rq);
/* 401 for API clients; a redirect to sign-in for a browser navigating to a page. */
void respond_unauthenticated(struct request *rq);

#endif
