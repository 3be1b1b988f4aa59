/* Agent registration (docs/agent.md). POST /api/agents/tokens: an audit admin mints a
 * one-time token bound to one agent cluster (15 minutes by default), shown once, stored
 * hashed. POST /api/agents/register: the agent trades it, with its freshly generated SSH
 * public key, its ServiceAccount's bearer token and the hash of its cluster's CA, for its
 * tunnel port and the tunnel's host key. Every refused registration is the same 401 (a
 * prober learns nothing about tokens or clusters); the log and the audit row say why. */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/ssh_pubkey.h"
#include "auth/origin.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "handlers.h"
#include "router.h"
#include "store/dbx.h"
#include "store/agent_registry.h"
#include "store/audit.h"

#define BODY_MAX 16384
#define API_TOKEN_MAX 8192

static const struct cluster_config *agent_cluster(const struct config *cfg, const char *name)
{
	const struct cluster_config *c = name ? config_find_cluster(cfg, name) : NULL;

	return c && c->backend == BACKEND_AGENT ? c : NULL;
}

static void audit_agent(struct request *rq, const char *verb, const char *outcome,
			const char *actor, const char *cluster, const char *reason, json_t *extra)
{
	struct audit_event ev = { .verb = verb, .outcome = outcome, .cluster = cluster,
				  .reason = reason, .actor_sub = actor, .extra = extra };

	audit_request_event(rq, &ev);
	json_decref(extra);
}

void handle_agent_token_create(struct request *rq)
{
	const struct config *cfg = rq->w->cfg;
	const struct cluster_config *c;
	json_t *body = NULL;
	const char *name;
	char *token = NULL;
	char err[256];
	long long now = now_ms() / 1000;

	if (!request_from_our_pages(cfg, request_env(rq, "HTTP_ORIGIN"),
				    request_env(rq, "HTTP_SEC_FETCH_SITE"))) {
		respond_error(rq, 403, "E_ORIGIN", "tokens are minted from periscope's own pages or"
			      " an API client", NULL);
		goto done;
	}
	if (request_json_body(rq, BODY_MAX, &body, err, sizeof err) != 0) {
		respond_error(rq, 400, "E_INVALID_REQUEST", err, NULL);
		goto done;
	}
	name = json_string_value(json_object_get(body, "cluster"));
	if (!rq->identity.audit_admin) {
		audit_agent(rq, "agent_token_create", "denied", NULL, name, "not an audit admin", NULL);
		respond_error(rq, 403, "E_FORBIDDEN", "only audit admins may mint agent tokens", NULL);
		goto done;
	}
	c = agent_cluster(cfg, name);
	if (!c) {
		respond_error(rq, 400, "E_INVALID_REQUEST", "\"cluster\" must name a cluster with"
			      " backend agent in the configuration", NULL);
		goto done;
	}
	if (agent_token_create_dbx(rq->w->dbx, c->name, rq->identity.subject, now,
			       cfg->agents.token_ttl_s, &token) != 0) {
		log_json(LOG_ERROR, "agents", "could not store a registration token",
			 json_pack("{s:s, s:s}", "request_id", rq->request_id, "error",
				   dbx_errmsg(rq->w->dbx)));
		respond_error(rq, 500, "E_INTERNAL", "the token could not be stored", NULL);
		goto done;
	}
	audit_agent(rq, "agent_token_create", "success", NULL, c->name, NULL,
		    json_pack("{s:I}", "expires_at", (json_int_t)(now + cfg->agents.token_ttl_s)));
	respond_json(rq, 201, json_pack("{s:s, s:s, s:I, s:i}", "token", token, "cluster", c->name,
					"expiresAt", (json_int_t)(now + cfg->agents.token_ttl_s),
					"expiresInSeconds", cfg->agents.token_ttl_s));
done:
	if (token) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	json_decref(body);
}

/* The tunnel sshd's public host key (one line), which the agent pins. malloc'd or NULL. */
static char *read_host_key(const char *file)
{
	char line[1024];
	FILE *f = fopen(file, "re");
	char *out = NULL;

	if (!f)
		return NULL;
	if (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\r\n")] = '\0';
		out = *line ? strdup(line) : NULL;
	}
	fclose(f);
	return out;
}

/* agents.sshUser, or the user this process runs as (sshd runs as the same one). */
static char *ssh_user(const struct config *cfg)
{
	struct passwd pw, *found = NULL;
	char buf[1024];

	if (*cfg->agents.ssh_user)
		return strdup(cfg->agents.ssh_user);
	if (getpwuid_r(geteuid(), &pw, buf, sizeof buf, &found) != 0 || !found)
		return NULL;
	return strdup(found->pw_name);
}

static bool is_hex64(const char *s)
{
	return s && strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

/* The one answer to every refused registration; why goes to the log and the audit row. */
static void refuse(struct request *rq, const char *cluster, const char *why)
{
	log_json(LOG_WARN, "agents", "agent registration refused",
		 json_pack("{s:s, s:s, s:s}", "request_id", rq->request_id, "cluster",
			   cluster ? cluster : "", "reason", why));
	audit_agent(rq, "agent_register", "denied", NULL, cluster && *cluster ? cluster : NULL,
		    why, NULL);
	respond_error(rq, 401, "E_AGENT_UNAUTHORIZED", "agent registration refused", NULL);
}

void handle_agent_register(struct request *rq)
{
	const struct config *cfg = rq->w->cfg;
	struct agent_registration r = { 0 };
	struct ssh_pubkey key;
	json_t *body = NULL;
	char err[256], bound[64] = "", why[256], actor[80];
	char *host_key = NULL, *user = NULL;
	long long now = now_ms() / 1000;
	int port = 0;

	if (request_json_body(rq, BODY_MAX, &body, err, sizeof err) != 0) {
		refuse(rq, NULL, err);
		goto done;
	}
	r.token = json_string_value(json_object_get(body, "token"));
	r.cluster = json_string_value(json_object_get(body, "cluster"));
	r.api_token = json_string_value(json_object_get(body, "apiToken"));
	r.ca_sha256 = json_string_value(json_object_get(body, "caSha256"));
	if (!r.token || !*r.token) {
		refuse(rq, r.cluster, "no registration token");
		goto done;
	}
	host_key = read_host_key(cfg->agents.host_key_file);
	user = ssh_user(cfg);
	if (!host_key || !user) {
		log_json(LOG_ERROR, "agents", "the tunnel's host key or ssh user is unknown",
			 json_pack("{s:s, s:s}", "request_id", rq->request_id, "hostKeyFile",
				   cfg->agents.host_key_file));
		respond_error(rq, 500, "E_INTERNAL", "the agent tunnel is not set up on this server",
			      NULL);
		goto done;
	}
	/* Checked before the token is spent are only the fields; any refusal spends it. */
	if (!r.cluster || !agent_cluster(cfg, r.cluster))
		snprintf(why, sizeof why, "the cluster is not an agent cluster in the configuration");
	else if (ssh_pubkey_parse(json_string_value(json_object_get(body, "publicKey")), &key, err,
				  sizeof err) != 0)
		snprintf(why, sizeof why, "%s", err);
	else if (!r.api_token || !*r.api_token || strlen(r.api_token) > API_TOKEN_MAX ||
		 !printable(r.api_token))
		snprintf(why, sizeof why, "apiToken must be the ServiceAccount's bearer token");
	else if (!is_hex64(r.ca_sha256))
		snprintf(why, sizeof why, "caSha256 must be 64 lower-case hex digits");
	else
		why[0] = '\0';
	if (*why) {
		if (agent_token_burn_dbx(rq->w->dbx, r.token, now, bound) != 0)
			goto store_failed;
		refuse(rq, *bound ? bound : r.cluster, why);
		goto done;
	}
	r.public_key = key.line;
	r.fingerprint = key.fingerprint;
	switch (agent_register_dbx(rq->w->dbx, &r, now, cfg->agents.tunnel_port_base, &port, bound, why,
			       sizeof why)) {
	case AGENT_REG_OK:
		break;
	case AGENT_REG_REFUSED:
		refuse(rq, *bound ? bound : r.cluster, why);
		goto done;
	default:
		goto store_failed;
	}
	snprintf(actor, sizeof actor, "agent:%s", r.cluster);
	audit_agent(rq, "agent_register", "success", actor, r.cluster, NULL,
		    json_pack("{s:s, s:i}", "fingerprint", key.fingerprint, "tunnel_port", port));
	respond_json(rq, 200, json_pack("{s:s, s:i, s:s, s:s, s:s}", "cluster", r.cluster,
					"tunnelPort", port, "sshUser", user, "hostKey", host_key,
					"tunnelPath", cfg->agents.tunnel_path));
	goto done;
store_failed:
	log_json(LOG_ERROR, "agents", "agent registration could not be stored",
		 json_pack("{s:s, s:s}", "request_id", rq->request_id, "error",
			   dbx_errmsg(rq->w->dbx)));
	respond_error(rq, 500, "E_INTERNAL", "the registration could not be stored", NULL);
done:
	free(host_key);
	free(user);
	json_decref(body);
}
