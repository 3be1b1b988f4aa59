/* The route table: method + path pattern ("/api/audit/{id}") → handler. Unknown paths are
 * 404 E_NOT_FOUND, a known path with another method is 405 with Allow, and every route not
 * marked public needs a signed-in session. */
#ifndef PERISCOPE_FCGI_ROUTER_H
#define PERISCOPE_FCGI_ROUTER_H

#include <stddef.h>

#include "request.h"
#include "core/route_match.h"

typedef void (*handler_fn)(struct request *rq);

enum route_flags {
	ROUTE_PUBLIC = 1,       /* no session needed */
	ROUTE_AUTHORIZER = 2,   /* also answers FCGI_ROLE=AUTHORIZER requests */
};

struct route {
	const char *method;
	const char *pattern;
	handler_fn handler;
	unsigned flags;
};

extern const struct route routes[];
extern const size_t routes_count;

void router_dispatch(struct request *rq);

/* Writes an audit event stamped with the request's id, route and signed-in actor. */
struct audit_event;
void audit_request_event(struct request *rq, struct audit_event *ev);

#endif
