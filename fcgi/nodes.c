/* GET /api/clusters/{c}/nodes and GET /api/clusters/{c}/nodes/{n}/shell/preflight.
 * Preflight runs the node shell's gates (STS included, with the operator's own id_token)
 * and asks SSM whether the node's agent is online, without opening a session. */
#include <stdlib.h>
#include <string.h>

#include "auth/authz.h"
#include "handlers.h"
#include "store/dbx.h"
#include "store/agent_registry.h"
#include "core/log.h"
#include "shell/node_shell_prep.h"
#include "aws/ssm_api.h"

void handle_nodes_list(struct request *rq)
{
	const struct config *cfg = rq->w->cfg;
	const struct cluster_config *c = config_find_cluster(cfg, rq->params[0]);
	struct node_info *nodes = NULL;
	size_t n = 0;
	json_t *list;
	char err[512];
	bool may = cfg->node_shell.enabled &&
		   authz_tier_may_open(&cfg->authz, &cfg->node_shell.tiers, rq->identity.tier);

	if (!c) {
		respond_error(rq, 404, "E_NOT_FOUND", "no such cluster", NULL);
		return;
	}
	if (c->backend == BACKEND_AGENT && agent_connected_dbx(rq->w->dbx, c->name) != 1) {
		respond_error(rq, 503, "E_CLUSTER_UNREACHABLE", "the cluster's agent is not connected",
			      json_pack("{s:b}", "retryable", 1));
		return;
	}
	if (node_list(c, rq->w->creds, NULL, NULL, &rq->w->tally, &nodes, &n, err, sizeof err) != 0) {
		log_json(LOG_WARN, "nodes", "cannot list nodes",
			 json_pack("{s:s, s:s}", "cluster", c->name, "error", err));
		respond_error(rq, 502, "E_UPSTREAM", "cannot read the cluster's nodes",
			      json_pack("{s:s}", "err", err));
		return;
	}
	list = json_array();
	for (size_t i = 0; i < n; i++) {
		const char *region = c->node_shell.region && *c->node_shell.region ? c->node_shell.region
				     : cfg->node_shell.region && *cfg->node_shell.region ? cfg->node_shell.region
				     : c->region && *c->region ? c->region : nodes[i].region_label;
		json_array_append_new(list, json_pack("{s:s, s:b, s:s*, s:s*, s:s*, s:b}", "name",
						      nodes[i].name, "ready", nodes[i].ready,
						      "instanceId", nodes[i].instance_id, "zone",
						      nodes[i].zone, "region", region, "nodeShellAllowed",
						      may && nodes[i].instance_id != NULL));
	}
	node_list_free(nodes, n);
	respond_json(rq, 200, json_pack("{s:s, s:b, s:o}", "cluster", c->name, "nodeShellEnabled",
					cfg->node_shell.enabled, "nodes", list));
}

void handle_node_preflight(struct request *rq)
{
	const struct config *cfg = rq->w->cfg;
	struct shell_target t = { .kind = SHELL_NODE, .cluster = rq->params[0], .node = rq->params[1] };
	struct gate_answer ans = { 0 };
	struct node_access access = { 0 };
	struct ssm_instance_info info = { 0 };
	struct aws_error aerr = { 0 };
	char *cookie = cookie_value(rq->cookie_header, cfg->session.cookie_name);
	char err[512];

	/* An agent cluster whose agent is away: the same answer as the shell's gate. */
	if (shell_gate_tunnel(cfg, rq->w->dbx, &t, &ans) != 0 ||
	    node_shell_prepare(cfg, rq->w->creds, &rq->w->auth, cookie, &t, &rq->identity, NULL, &access, &ans) != 0) {
		respond_error(rq, ans.status, ans.code, ans.message, json_incref(ans.extras));
		goto done;
	}
	{
		struct ssm_client client = { .endpoint = access.ssm_endpoint, .region = access.region,
					     .creds = &access.role.creds, .ca_file = access.ca_file,
					     .tally = &rq->w->tally };
		if (ssm_describe_instance(&client, access.instance_id, &info, &aerr, err, sizeof err) != 0) {
			char text[512];
			struct product_error pe = aws_error_classify(AWS_OP_SSM_DESCRIBE_INSTANCE_INFORMATION, &aerr);
			aws_error_format(&aerr, text, sizeof text);
			respond_error(rq, pe.http_status == 403 ? 403 : 502,
				      pe.http_status == 403 ? pe.code : "E_NODE_SHELL_PREFLIGHT",
				      "SSM did not answer the preflight",
				      json_pack("{s:s}", "err", aerr.code[0] ? text : err));
			goto done;
		}
	}
	respond_json(rq, 200, json_pack("{s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:s, s:s}",
					"node", access.node, "instanceId", access.instance_id,
					"region", access.region, "agentOnline",
					info.found && info.ping_status && strcmp(info.ping_status, "Online") == 0,
					"pingStatus", info.found && info.ping_status ? info.ping_status : "",
					"platform", info.found && info.platform_name ? info.platform_name : "",
					"auth", "sts", "assumedRoleArn",
					access.role.assumed_role_arn ? access.role.assumed_role_arn : "",
					"roleSessionName", access.role_session_name));
done:
	ssm_instance_info_free(&info);
	node_access_clear(&access);
	gate_answer_clear(&ans);
	if (cookie) {
		explicit_bzero(cookie, strlen(cookie));
		free(cookie);
	}
}
