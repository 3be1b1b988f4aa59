#include "shell/node_shell_prep.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/aws_errors.h"
#include "k8s/cluster_access.h"
#include "auth/idtoken.h"
#include "k8s/k8s_client.h"
#include "aws/ssm_api.h"
#include "core/log.h"
#include "core/timeutil.h"

#define ID_TOKEN_MIN_VALIDITY_S 90

void node_info_clear(struct node_info *n)
{
	free(n->name);
	free(n->instance_id);
	free(n->zone);
	free(n->region_label);
	free(n->provider_id);
	memset(n, 0, sizeof *n);
}

void node_list_free(struct node_info *nodes, size_t count)
{
	for (size_t i = 0; i < count; i++)
		node_info_clear(&nodes[i]);
	free(nodes);
}

void node_access_clear(struct node_access *a)
{
	free(a->node);
	free(a->instance_id);
	free(a->region);
	free(a->role_arn);
	free(a->ssm_endpoint);
	sts_assumed_role_free(&a->role);
	memset(a, 0, sizeof *a);
}

static bool hex_lower(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	return true;
}

int parse_provider_id(const char *pid, char **instance_id, char **zone)
{
	const char *p, *id;
	size_t idlen;

	*instance_id = *zone = NULL;
	if (!pid || strncmp(pid, "aws://", 6) != 0)
		return -1;
	p = pid + 6;
	id = strrchr(p, '/');
	if (!id)
		return -1;
	id++;
	/* Between "aws://" and the id: "/" or "/<zone>/" with no other slash. */
	if (id - p > 1) {
		if (p[0] != '/' || memchr(p + 1, '/', (size_t)(id - p - 2)) || id - p - 2 == 0)
			return -1;
		*zone = strndup(p + 1, (size_t)(id - p - 2));
	} else if (p[0] != '/') {
		return -1;
	}
	idlen = strlen(id);
	if (strncmp(id, "i-", 2) != 0 || (idlen != 10 && idlen != 19) || !hex_lower(id + 2, idlen - 2)) {
		free(*zone);
		*zone = NULL;
		return -1;
	}
	*instance_id = strdup(id);
	return 0;
}

static bool node_ready(json_t *node)
{
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(json_object_get(node, "status"), "conditions"), i, c) {
		const char *type = json_string_value(json_object_get(c, "type"));
		if (type && strcmp(type, "Ready") == 0)
			return strcmp(json_string_value(json_object_get(c, "status")) ?: "", "True") == 0;
	}
	return false;
}

static void fill_node(json_t *node, struct node_info *out)
{
	json_t *meta = json_object_get(node, "metadata");
	const char *pid = json_string_value(json_object_get(json_object_get(node, "spec"), "providerID"));
	const char *region = json_string_value(
		json_object_get(json_object_get(meta, "labels"), "topology.kubernetes.io/region"));

	out->name = strdup(json_string_value(json_object_get(meta, "name")) ?: "");
	out->ready = node_ready(node);
	out->provider_id = pid ? strdup(pid) : NULL;
	out->region_label = region ? strdup(region) : NULL;
	parse_provider_id(pid, &out->instance_id, &out->zone);
}

int node_list(const struct cluster_config *c, struct cred_cache *creds, const char *name,
	      const struct http_wait *wait, struct upstream_tally *tally, struct node_info **out,
	      size_t *count, char *err, size_t errlen)
{
	struct kube_target target = { 0 };
	struct k8s_client k = { .target = &target, .wait = wait, .tally = tally };
	struct k8s_response r = { 0 };
	char path[512];
	json_t *items;
	int rc = -1;

	*out = NULL;
	*count = 0;
	if (cluster_kube_target(c, creds, &target, err, errlen) != 0)
		return -1;
	snprintf(path, sizeof path, name ? "/api/v1/nodes/%s" : "/api/v1/nodes", name);
	if (name && strpbrk(name, "/?#%")) {
		rc = 1;
		goto done;
	}
	if (k8s_call(&k, "GET", path, NULL, &r, err, errlen) != 0)
		goto done;
	if (name && r.status == 404) {
		rc = 1;
		goto done;
	}
	if (r.status != 200) {
		snprintf(err, errlen, "reading nodes: HTTP %ld: %s", r.status, k8s_status_text(&r));
		goto done;
	}
	items = name ? NULL : json_object_get(r.body, "items");
	*count = name ? 1 : json_array_size(items);
	*out = calloc(*count ? *count : 1, sizeof **out);
	if (!*out)
		goto done;
	for (size_t i = 0; i < *count; i++)
		fill_node(name ? r.body : json_array_get(items, i), &(*out)[i]);
	rc = 0;
done:
	k8s_response_clear(&r);
	kube_target_clear(&target);
	return rc;
}

static const char *first_set(const char *a, const char *b, const char *c, const char *d)
{
	const char *v[] = { a, b, c, d };

	for (size_t i = 0; i < 4; i++)
		if (v[i] && *v[i])
			return v[i];
	return NULL;
}

static bool token_has_audience(const char *token, const char *audience)
{
	json_t *payload = NULL, *aud, *a;
	bool found = false;
	size_t i;

	if (jwt_payload_unverified(token, &payload) != 0)
		return false;
	aud = json_object_get(payload, "aud");
	if (json_is_string(aud))
		found = strcmp(json_string_value(aud), audience) == 0;
	json_array_foreach(aud, i, a) {
		if (json_is_string(a) && strcmp(json_string_value(a), audience) == 0)
			found = true;
	}
	json_decref(payload);
	return found;
}

static int locate_node(const struct config *cfg, const struct cluster_config *c,
		       struct cred_cache *creds, const struct shell_target *t, const struct http_wait *wait,
		       struct node_access *out, struct gate_answer *ans)
{
	struct node_info *nodes = NULL;
	size_t n = 0;
	char err[512];
	const char *region;
	int rc = node_list(c, creds, t->node, wait, out->tally, &nodes, &n, err, sizeof err);

	if (rc == 1)
		return gate_refuse(ans, 404, "E_NODE_NOT_EC2", json_pack("{s:s}", "err", "node not found"),
			      "no node named \"%.64s\" in cluster %.64s", t->node, t->cluster);
	if (rc != 0)
		return gate_refuse(ans, 502, "E_UPSTREAM", json_pack("{s:s}", "err", err),
			      "cannot read the node from the cluster");
	if (!nodes[0].instance_id) {
		gate_refuse(ans, 404, "E_NODE_NOT_EC2",
		       json_pack("{s:s}", "err", nodes[0].provider_id ? "providerID is not an AWS EC2 instance"
								       : "node has no providerID"),
		       "node %.64s is not an SSM-managed EC2 instance", t->node);
		node_list_free(nodes, n);
		return -1;
	}
	region = first_set(c->node_shell.region, cfg->node_shell.region, c->region, nodes[0].region_label);
	out->node = strdup(t->node);
	out->instance_id = strdup(nodes[0].instance_id);
	out->region = region ? strdup(region) : NULL;
	node_list_free(nodes, n);
	if (!region)
		return gate_refuse(ans, 400, "E_NODE_SHELL_NO_REGION", NULL,
			      "could not determine the AWS region for this node; set nodeShell.region");
	return 0;
}

/* AssumeRoleWithWebIdentity for the node's access, asking for duration_seconds (0 = STS's
 * default of 1 h). A role whose MaxSessionDuration is below the request answers
 * ValidationError ("The requested DurationSeconds exceeds the MaxSessionDuration set for
 * this role."): asked again for 3600, which every role allows. */
static int sts_for_node(const struct config *cfg, const char *id_token, int duration_seconds,
			struct node_access *a, struct sts_assumed_role *role,
			struct aws_error *aerr, char *err, size_t errlen)
{
	char endpoint[256];
	struct sts_assume_request rq = { 0 };
	int rc;

	if (cfg->node_shell.sts_endpoint && *cfg->node_shell.sts_endpoint)
		snprintf(endpoint, sizeof endpoint, "%s", cfg->node_shell.sts_endpoint);
	else
		sts_default_endpoint(a->region, endpoint, sizeof endpoint);
	rq.endpoint = endpoint;
	rq.role_arn = a->role_arn;
	rq.role_session_name = a->role_session_name;
	rq.web_identity_token = id_token;
	rq.ca_file = a->ca_file;
	rq.duration_seconds = duration_seconds;
	rq.tally = a->tally;
	rc = sts_assume_role_with_web_identity(&rq, role, aerr, err, errlen);
	if (rc != 0 && duration_seconds > 3600 && !strcmp(aerr->code, "ValidationError") &&
	    strstr(aerr->message, "DurationSeconds")) {
		rq.duration_seconds = 3600;
		rc = sts_assume_role_with_web_identity(&rq, role, aerr, err, errlen);
	}
	if (rc == 0)
		a->duration_seconds = rq.duration_seconds;
	return rc;
}

static int assume_role(const struct config *cfg, const char *id_token, const char *sub,
		       int duration_seconds, struct node_access *out, struct gate_answer *ans)
{
	struct aws_error aerr = { 0 };
	char err[512];

	sts_role_session_name(sub, out->role_session_name);
	if (sts_for_node(cfg, id_token, duration_seconds, out, &out->role, &aerr, err,
			 sizeof err) != 0) {
		struct product_error pe = aws_error_classify(AWS_OP_STS_ASSUME_ROLE_WITH_WEB_IDENTITY, &aerr);
		char text[512];

		aws_error_format(&aerr, text, sizeof text);
		if (!aerr.code[0])
			snprintf(text, sizeof text, "%s", err);
		gate_refuse(ans, pe.http_status, pe.code, json_pack("{s:s}", "err", text),
		       pe.http_status == 403 ? "AWS denied the session; check the role's trust policy"
					     : "could not reach AWS STS");
		return -1;
	}
	return 0;
}

int node_shell_renew_credentials(const struct config *cfg, struct auth_ctx *auth,
				 const char *cookie, int duration_seconds, struct node_access *a,
				 char *err, size_t errlen)
{
	struct sts_assumed_role fresh = { 0 };
	struct aws_error aerr = { 0 };
	char *id_token = NULL, why[256];
	int rc = -1, got;

	got = auth_fresh_id_token(auth, cookie, now_ms() / 1000, ID_TOKEN_MIN_VALIDITY_S, &id_token,
				  why, sizeof why);
	if (got != 0) {
		snprintf(err, errlen, "%s", got == 1 ? "the sign-in gives no fresh id_token any more"
						     : "could not obtain the id_token");
		goto done;
	}
	if (sts_for_node(cfg, id_token, duration_seconds, a, &fresh, &aerr, why, sizeof why) != 0) {
		snprintf(err, errlen, "%s", why);
		goto done;
	}
	/* In place: clients hold a pointer to a->role.creds. */
	sts_assumed_role_free(&a->role);
	a->role = fresh;
	memset(&fresh, 0, sizeof fresh);
	rc = 0;
done:
	sts_assumed_role_free(&fresh);
	if (id_token) {
		explicit_bzero(id_token, strlen(id_token));
		free(id_token);
	}
	return rc;
}

int node_shell_prepare(const struct config *cfg, struct cred_cache *creds, struct auth_ctx *auth,
		       const char *cookie,
		       const struct shell_target *t, const struct identity *id,
		       const struct http_wait *wait, struct node_access *out,
		       struct gate_answer *ans)
{
	return node_shell_prepare_session(cfg, creds, auth, cookie, t, id, wait, 0, out, ans);
}

int node_shell_prepare_session(const struct config *cfg, struct cred_cache *creds,
			       struct auth_ctx *auth, const char *cookie,
			       const struct shell_target *t, const struct identity *id,
			       const struct http_wait *wait, int duration_seconds,
			       struct node_access *out, struct gate_answer *ans)
{
	const struct cluster_config *c;
	const char *role, *audience;
	char *id_token = NULL;
	char err[256];
	int fresh, rc = -1;

	memset(out, 0, sizeof *out);
	memset(ans, 0, sizeof *ans);
	out->tally = auth ? auth->tally : NULL;
	/* Signed-in checks first: nothing about the nodes is revealed to anonymous callers. */
	if (shell_gates_static(cfg, t, id, ans) != 0)
		return -1;
	c = config_find_cluster(cfg, t->cluster);
	if (locate_node(cfg, c, creds, t, wait, out, ans) != 0)
		return -1;
	role = first_set(c->node_shell.aws_role_arn, cfg->node_shell.aws_role_arn, NULL, NULL);
	if (!role)
		return gate_refuse(ans, 403, "E_NODE_SHELL_NO_ROLE", NULL,
			      "no node-shell IAM role is configured for this cluster");
	out->role_arn = strdup(role);
	out->ca_file = cfg->node_shell.ca_file && *cfg->node_shell.ca_file ? cfg->node_shell.ca_file : NULL;
	fresh = auth_fresh_id_token(auth, cookie, now_ms() / 1000, ID_TOKEN_MIN_VALIDITY_S, &id_token,
				    err, sizeof err);
	if (fresh == 1)
		return gate_refuse(ans, 401, "E_REAUTH_REQUIRED", NULL,
			      "your sign-in is too old to open a node shell; sign in again");
	if (fresh != 0)
		return gate_refuse(ans, 500, "E_INTERNAL", NULL, "could not obtain your id_token");
	audience = first_set(c->node_shell.oidc_audience, cfg->node_shell.oidc_audience, NULL, NULL);
	if (audience && !token_has_audience(id_token, audience)) {
		gate_refuse(ans, 403, "E_NODE_SHELL_AUD_MISMATCH", json_pack("{s:s}", "expected_aud", audience),
		       "your id_token audience does not match the role's trust policy");
		goto done;
	}
	if (assume_role(cfg, id_token, id->subject, duration_seconds, out, ans) != 0)
		goto done;
	if (cfg->node_shell.ssm_endpoint && *cfg->node_shell.ssm_endpoint) {
		out->ssm_endpoint = strdup(cfg->node_shell.ssm_endpoint);
	} else {
		char ep[256];
		ssm_default_endpoint(out->region, ep, sizeof ep);
		out->ssm_endpoint = strdup(ep);
	}
	rc = 0;
done:
	if (id_token) {
		explicit_bzero(id_token, strlen(id_token));
		free(id_token);
	}
	return rc;
}
