#include "router.h"

#include <stdlib.h>
#include <string.h>

#include "store/audit.h"
#include "core/log.h"
#include "handlers.h"
#include "core/timeutil.h"

void audit_request_event(struct request *rq, struct audit_event *ev)
{
	char *groups = NULL;

	if (!ev->request_id)
		ev->request_id = rq->request_id;
	if (!ev->route)
		ev->route = rq->route;
	if (!ev->actor_sub && rq->authenticated) {
		ev->actor_sub = rq->identity.subject;
		ev->actor_email = rq->identity.email;
		groups = json_dumps(rq->identity.groups, JSON_COMPACT);
		ev->actor_groups_json = groups;
	}
	audit_write_dbx(rq->w->dbx, ev, NULL);
	free(groups);
}

static void answer_bad_path(struct request *rq)
{
	respond_error(rq, 400, "E_INVALID_REQUEST", "malformed path", NULL);
}

void router_dispatch(struct request *rq)
{
	char err[256];
	struct buf allow;
	const struct route *found = NULL;

	buf_init(&allow, 256);
	if (server_error_status(rq)) {
		handle_server_error(rq, server_error_status(rq));
		goto done;
	}
	for (size_t i = 0; i < routes_count && !found; i++) {
		int m = route_match(routes[i].pattern, rq->path, rq->params);
		if (m < 0) {
			answer_bad_path(rq);
			goto done;
		}
		if (m == 0)
			continue;
		if (strcmp(routes[i].method, rq->method) == 0 ||
		    (strcmp(rq->method, "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0)) {
			found = &routes[i];
			break;
		}
		buf_printf(&allow, "%s%s", allow.len ? ", " : "", routes[i].method);
		for (int k = 0; k < ROUTE_MAX_PARAMS; k++) {
			free(rq->params[k]);
			rq->params[k] = NULL;
		}
	}
	if (!found) {
		if (allow.len) {
			add_header(rq, "Allow: %s", allow.data);
			respond_error(rq, 405, "E_METHOD_NOT_ALLOWED",
				      "this resource does not support that method", NULL);
		} else {
			respond_error(rq, 404, "E_NOT_FOUND", "no such resource", NULL);
		}
		goto done;
	}
	rq->route = found->pattern;
	if (query_parse(rq->query_string, &rq->query, err, sizeof err) != 0) {
		respond_error(rq, 400, "E_INVALID_REQUEST", err, NULL);
		goto done;
	}
	if (!(found->flags & ROUTE_PUBLIC)) {
		char *cookie = cookie_value(rq->cookie_header, rq->w->cfg->session.cookie_name);
		enum auth_status st = auth_from_cookie(&rq->w->auth, cookie, now_ms() / 1000,
						       &rq->identity, err, sizeof err);
		free(cookie);
		if (st == AUTH_ERROR) {
			log_json(LOG_ERROR, "fcgi", "authentication failed",
				 json_pack("{s:s, s:s}", "request_id", rq->request_id, "error", err));
			respond_error(rq, 500, "E_INTERNAL", "could not check your session", NULL);
			goto done;
		}
		if (st == AUTH_NO_SESSION) {
			respond_unauthenticated(rq);
			goto done;
		}
		rq->authenticated = true;
	}
	found->handler(rq);
	if (!rq->answered)
		respond_error(rq, 500, "E_INTERNAL", "the handler gave no answer", NULL);
done:
	buf_free(&allow);
}
