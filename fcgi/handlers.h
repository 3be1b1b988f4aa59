/* Every route's handler, one file per resource. */
#ifndef PERISCOPE_FCGI_HANDLERS_H
#define PERISCOPE_FCGI_HANDLERS_H

#include "request.h"

void handle_healthz(struct request *rq);
void handle_readyz(struct request *rq);
void handle_metrics(struct request *rq);
/* The readiness checks of /readyz (fcgi/health.c): true when ready; report (may be NULL)
 * gets the JSON answer, naming the first failing check. */
bool health_ready(struct worker *w, json_t **report);
void handle_api_health(struct request *rq);
void handle_auth_config(struct request *rq);
void handle_auth_login(struct request *rq);
void handle_auth_callback(struct request *rq);
void handle_auth_logout(struct request *rq);
void handle_auth_logout_everywhere(struct request *rq);
void handle_auth_whoami(struct request *rq);
void handle_clusters_list(struct request *rq);
void handle_audit_list(struct request *rq);
void handle_audit_get(struct request *rq);
void handle_audit_verify(struct request *rq);
void handle_shell_authorize(struct request *rq);
void handle_sessions_list(struct request *rq);
void handle_session_delete(struct request *rq);
void handle_session_recording(struct request *rq);
void handle_session_watch(struct request *rq);
void handle_nodes_list(struct request *rq);
void handle_node_preflight(struct request *rq);
void handle_agent_token_create(struct request *rq);
void handle_agent_register(struct request *rq);
/* The web server's own errors (fcgi/server_error.c): the status when this request is the
 * web server asking for an error answer, else 0. */
int server_error_status(const struct request *rq);
void handle_server_error(struct request *rq, int status);

#endif
