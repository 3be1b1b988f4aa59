/* Errors the web server produces itself, answered as the API answers. lighttpd's
 * server.error-handler (conf/lighttpd/periscope.conf) hands every error it makes on its own
 * (a malformed or oversized request it refused while parsing, a static file not found)
 * back to us as a GET with the original REQUEST_URI and the status in REDIRECT_STATUS.
 * Apache says the same with ErrorDocument strings (conf/apache/periscope-routes.conf). */
#include <stdlib.h>
#include <string.h>

#include "handlers.h"

struct server_error {
	int status;
	const char *code;
	const char *message;
};

static const struct server_error known[] = {
	{ 400, "E_INVALID_REQUEST", "malformed request" },
	{ 403, "E_FORBIDDEN", "the server refuses this path" },
	{ 404, "E_NOT_FOUND", "no such resource" },
	{ 405, "E_METHOD_NOT_ALLOWED", "this resource does not support that method" },
	{ 408, "E_INVALID_REQUEST", "the request did not arrive in time" },
	{ 411, "E_INVALID_REQUEST", "the request body needs a length" },
	{ 413, "E_INVALID_REQUEST", "request body too large" },
	{ 414, "E_INVALID_REQUEST", "request URI too long" },
	{ 417, "E_INVALID_REQUEST", "unsupported Expect header" },
	{ 431, "E_INVALID_REQUEST", "request headers too large" },
	{ 500, "E_INTERNAL", "the web server failed" },
	{ 501, "E_INVALID_REQUEST", "the web server does not implement that" },
	{ 502, "E_UNAVAILABLE", "the service behind this path did not answer" },
	{ 503, "E_UNAVAILABLE", "the service behind this path is not available" },
	{ 504, "E_UNAVAILABLE", "the service behind this path timed out" },
};

/* The status of an error-handler request, or 0 for an ordinary request (lighttpd sets
 * REDIRECT_STATUS=200 on every request it hands to FastCGI). */
int server_error_status(const struct request *rq)
{
	const char *v = request_env(rq, "REDIRECT_STATUS");
	char *end;
	long status;

	if (!v)
		return 0;
	status = strtol(v, &end, 10);
	return *end == '\0' && status >= 400 && status <= 599 ? (int)status : 0;
}

void handle_server_error(struct request *rq, int status)
{
	const struct server_error *e = NULL;
	/* A request refused before its headers were read has no URI: a client of the API as
	 * likely as any. */
	bool api = rq->request_uri[0] == '\0' || strncmp(rq->request_uri, "/api/", 5) == 0 ||
		   strcmp(rq->path, "/healthz") == 0;

	for (size_t i = 0; i < sizeof known / sizeof known[0] && !e; i++)
		if (known[i].status == status)
			e = &known[i];
	if (!e) {
		static const struct server_error client = { 400, "E_INVALID_REQUEST", "request refused" },
						 server = { 500, "E_INTERNAL", "the web server failed" };
		e = status < 500 ? &client : &server;
	}
	if (api) {
		respond_error(rq, status, e->code, e->message, NULL);
		return;
	}
	/* A page, not the API: plain words for a person. */
	char text[128];
	int n = snprintf(text, sizeof text, "%d %s\n", status, e->message);
	respond_raw(rq, status, "text/plain; charset=utf-8", text, (size_t)n);
}
