/* Everything a node shell needs before the data channel, shared by the preflight API,
 * the FastCGI authorizer and wsbridge: the gates in order, the node's EC2 instance and
 * region, the operator's fresh id_token, and the operator's own AWS credentials from
 * AssumeRoleWithWebIdentity. No other AWS credentials are ever used. */
#ifndef PERISCOPE_NODE_SHELL_PREP_H
#define PERISCOPE_NODE_SHELL_PREP_H

#include "metrics/upstream_tally.h"
#include <stdbool.h>
#include <stddef.h>

#include "auth/auth.h"
#include "config/config.h"
#include "net/http_client.h"
#include "shell/shell_gates.h"
#include "aws/sts.h"
#include "k8s/eks_access.h"

struct node_info {
	char *name;
	bool ready;
	char *instance_id;          /* NULL when the node is not an EC2 instance */
	char *zone;
	char *region_label;         /* topology.kubernetes.io/region */
	char *provider_id;
};

void node_info_clear(struct node_info *n);
/* aws:///zone/i-... or aws:///i-...: 0 and the parts, -1 otherwise. */
int parse_provider_id(const char *provider_id, char **instance_id, char **zone);
/* Reads the nodes of a cluster (name NULL: all of them) with the server's own identity.
 * *out is an array of node_info, *count entries. 0; -1 with err; 1 when name is not found. */
int node_list(const struct cluster_config *c, struct cred_cache *creds, const char *name,
	      const struct http_wait *wait, struct upstream_tally *tally, struct node_info **out,
	      size_t *count, char *err, size_t errlen);
void node_list_free(struct node_info *nodes, size_t count);

struct node_access {
	char *node;
	char *instance_id;
	char *region;
	char *role_arn;
	char role_session_name[STS_ROLE_SESSION_NAME_MAX + 1];
	char *ssm_endpoint;
	const char *ca_file;            /* trust for the AWS endpoints (borrowed from config) */
	struct sts_assumed_role role;   /* the operator's credentials and assumed-role ARN */
	int duration_seconds;           /* the DurationSeconds STS granted (0 = its default) */
	struct upstream_tally *tally;   /* the node lookup and STS counted here (auth's), or NULL */
};

void node_access_clear(struct node_access *a);

/* Runs every node-shell gate up to and including STS. id is the signed-in identity (NULL
 * when none); cookie lets the id_token be refreshed. creds: the process's cache of the
 * server's own credentials, used only to list the nodes of the cluster (never for STS, SSM
 * or ssmmessages). 0, or -1 with ans filled. */
int node_shell_prepare(const struct config *cfg, struct cred_cache *creds, struct auth_ctx *auth,
		       const char *cookie,
		       const struct shell_target *t, const struct identity *id,
		       const struct http_wait *wait, struct node_access *out,
		       struct gate_answer *ans);

/* The same for a shell session: the credentials are asked for duration_seconds
 * (900..43200; 0 = STS's default 1 h), falling back to 3600 when the role's maximum session
 * duration is lower. */
int node_shell_prepare_session(const struct config *cfg, struct cred_cache *creds,
			       struct auth_ctx *auth, const char *cookie,
			       const struct shell_target *t, const struct identity *id,
			       const struct http_wait *wait, int duration_seconds,
			       struct node_access *out, struct gate_answer *ans);

/* Assumes the role again with a fresh id_token (refreshed through the login session's
 * refresh token when needed) and replaces a->role in place. 0, or -1 with err (a->role
 * untouched). */
int node_shell_renew_credentials(const struct config *cfg, struct auth_ctx *auth,
				 const char *cookie, int duration_seconds, struct node_access *a,
				 char *err, size_t errlen);

#endif
