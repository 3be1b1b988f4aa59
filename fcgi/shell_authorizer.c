/* GET /api/clusters/{c}/shell and /api/clusters/{c}/nodes/{n}/shell, asked by the web
 * server as a FastCGI authorizer before it hands the upgrade to websocketd: every gate
 * that fails is answered here with its HTTP status and JSON body, which a browser's
 * WebSocket cannot read but an API client can. Passing answers 200 (lighttpd and Apache
 * then proceed to the proxy). wsbridge checks everything again. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "handlers.h"
#include "core/log.h"
#include "net/client_addr.h"
#include "metrics/metrics_store.h"
#include "store/audit_refusal.h"
#include "shell/node_shell_prep.h"
#include "shell/shell_gates.h"
#include "core/timeutil.h"

/* Every refusal is audited: the open verb of the shell's kind, outcome denied, the code;
 * repeats are aggregated per actor, verb and code and minute (store/audit_refusal.h). The
 * web server's REMOTE_ADDR is the client here. */
static void audit_refused(struct request *rq, const struct shell_target *t,
			  const struct gate_answer *ans)
{
	char client[CLIENT_ADDR_MAX];
	char *groups = rq->authenticated ? json_dumps(rq->identity.groups, JSON_COMPACT) : NULL;
	struct audit_refusal r = {
		.verb = t->kind == SHELL_CLUSTER ? "cluster_shell_open" : "ssm_session_open",
		.code = ans->code, .message = ans->message, .status = ans->status,
		.actor_sub = rq->authenticated ? rq->identity.subject : NULL,
		.actor_email = rq->authenticated ? rq->identity.email : NULL,
		.actor_groups_json = groups, .cluster = t->cluster,
		.cluster_label = metrics_cluster_label(rq->w->cfg, t->cluster), .target = t->node,
		.client = client, .via = "authorizer", .request_id = rq->request_id,
		.route = rq->route, .window_s = rq->w->cfg->audit.refusal_window_s,
	};

	client_address(request_env(rq, "REMOTE_ADDR"), NULL, client, sizeof client);
	if (audit_refusal_record_dbx(rq->w->dbx, &r, now_ms() / 1000) < 0)
		log_json(LOG_ERROR, "authorizer", "refusal not audited",
			 json_pack("{s:s, s:s}", "request_id", rq->request_id, "code", ans->code));
	free(groups);
}

static void answer_gate(struct request *rq, struct gate_answer *ans)
{
	if (ans->status == 401)
		add_header(rq, "WWW-Authenticate: Cookie realm=\"periscope\"");
	respond_error(rq, ans->status, ans->code, ans->message, json_incref(ans->extras));
}

/* The node shell's gates include the node lookup and STS with the operator's id_token, so
 * an API client learns about a trust-policy refusal before any upgrade. */
static int gates(struct request *rq, const struct shell_target *target, const char *cookie,
		 struct gate_answer *ans)
{
	const struct identity *id = rq->authenticated ? &rq->identity : NULL;
	struct node_access access;
	int rc;

	if (target->kind == SHELL_CLUSTER)
		return shell_gates_static(rq->w->cfg, target, id, ans);
	rc = node_shell_prepare(rq->w->cfg, rq->w->creds, &rq->w->auth, cookie, target, id, NULL, &access, ans);
	node_access_clear(&access);
	return rc;
}

/* A passing answer may carry Variable-NAME headers: lighttpd hands them to later FastCGI
 * handlers only, Apache's mod_authnz_fcgi turns them into request variables, which the
 * site's UserExpr reads to name the operator in its access log. Nothing reaches websocketd
 * this way (wsbridge checks the session itself). Only plain subjects are copied into a
 * header. */
static void name_operator_for_server(struct request *rq)
{
	const char *sub = rq->authenticated ? rq->identity.subject : NULL;

	if (!sub || !*sub || strlen(sub) > 255)
		return;
	for (const char *p = sub; *p; p++)
		if (*p < 0x21 || *p > 0x7e)
			return;
	add_header(rq, "Variable-PERISCOPE_USER: %s", sub);
}

/* Only an upgrade can open a terminal, so only an upgrade needs a page origin. A plain GET
 * of the same URL is how the web UI learns why its upgrade was refused (a browser cannot
 * read the body of a failed handshake): it must reach the caps and say E_CAP_USER, not
 * E_ORIGIN. Apache's mod_authnz_fcgi hides the Upgrade header from authorizers; there,
 * websocketd's --origin and wsbridge check the origin of the real upgrade. */
static bool is_upgrade(const struct request *rq)
{
	const char *upgrade = request_env(rq, "HTTP_UPGRADE");

	return upgrade && strcasecmp(upgrade, "websocket") == 0;
}

void handle_shell_authorize(struct request *rq)
{
	struct shell_target target;
	struct gate_answer ans = { 0 };
	char *cookie = NULL;
	char err[256];
	enum auth_status st;

	if (shell_target_parse(rq->request_uri, &target) != 1) {
		respond_error(rq, 400, "E_INVALID_REQUEST", "malformed shell path", NULL);
		return;
	}
	cookie = cookie_value(rq->cookie_header, rq->w->cfg->session.cookie_name);
	st = auth_from_cookie(&rq->w->auth, cookie, now_ms() / 1000, &rq->identity, err, sizeof err);
	if (st == AUTH_ERROR) {
		log_json(LOG_ERROR, "authorizer", "session check failed",
			 json_pack("{s:s, s:s}", "request_id", rq->request_id, "error", err));
		respond_error(rq, 500, "E_INTERNAL", "could not check your session", NULL);
		goto done;
	}
	rq->authenticated = st == AUTH_OK;
	if (gates(rq, &target, cookie, &ans) != 0 ||
	    shell_gate_tunnel(rq->w->cfg, rq->w->dbx, &target, &ans) != 0 ||
	    (is_upgrade(rq) && shell_gate_origin(rq->w->cfg, request_env(rq, "HTTP_ORIGIN"), &ans) != 0) ||
	    shell_gates_caps(rq->w->cfg, rq->w->dbx, &target, &rq->identity, NULL, &ans) != 0) {
		audit_refused(rq, &target, &ans);
		answer_gate(rq, &ans);
		goto done;
	}
	if (!rq->authorizer) {
		/* Reached as a plain request: only a WebSocket upgrade opens a terminal. */
		add_header(rq, "Upgrade: websocket");
		respond_error(rq, 426, "E_UPGRADE_REQUIRED", "open this URL as a WebSocket", NULL);
		goto done;
	}
	name_operator_for_server(rq);
	respond_raw(rq, 200, NULL, NULL, 0);
done:
	gate_answer_clear(&ans);
	shell_target_clear(&target);
	free(cookie);
}
