/* The Kubernetes objects of one cluster-shell session. Every one is named
 * periscope-shell-<session id> and labelled with the session id and the shell namespace:
 *   - a ServiceAccount (no token mounted anywhere),
 *   - a ClusterRole that may impersonate only this operator's user name, only
 *     periscope-tier:<tier>, and only this session's values of the two audit extras,
 *   - the ClusterRoleBinding of that role to that ServiceAccount,
 *   - the Pod, running as that ServiceAccount, with one projected volume: the Secret's
 *     kubeconfig beside the cluster's own CA (the kube-root-ca.crt ConfigMap),
 *   - the Secret: a kubeconfig holding a TokenRequest token bound to the Pod.
 * The Pod bounds everything with activeDeadlineSeconds. */
#ifndef PERISCOPE_CLUSTER_SHELL_SPEC_H
#define PERISCOPE_CLUSTER_SHELL_SPEC_H

#include <jansson.h>
#include <stddef.h>

#include "config/config.h"

#define SHELL_CONTAINER "shell"
#define SHELL_AUDIT_FILE "/tmp/periscope-shell/audit.jsonl"
#define SHELL_KUBECONFIG_DIR "/etc/periscope"
/* Relative in the kubeconfig, so it resolves beside it (kubectl resolves a kubeconfig's
 * relative paths against the file's directory): both come from the same volume. */
#define SHELL_CA_FILE "ca.crt"
#define SHELL_POD_SERVER "https://kubernetes.default.svc"
#define SHELL_ROOT_CA_CONFIGMAP "kube-root-ca.crt"
#define LABEL_MANAGED_BY "app.kubernetes.io/managed-by"
#define LABEL_SESSION "periscope.io/session-id"
#define LABEL_NAMESPACE "periscope.io/namespace"
#define EXTRA_SESSION_ID "audit.periscope.io/session-id"
#define EXTRA_ACTOR "audit.periscope.io/actor"

/* What the objects of one session are made from and named by. */
struct shell_objects {
	const char *session_id;
	const char *tier;          /* the tier's name */
	const char *actor;         /* the operator's OIDC sub */
	const char *ns;            /* the shell namespace */
	char name[64];             /* periscope-shell-<session id>: every object's name */
	char tier_group[80];       /* periscope-tier:<tier> */
	char actor_hash[16];       /* first 12 hex of SHA-256(sub): a label cannot hold any sub */
};

int shell_objects_init(struct shell_objects *o, const char *session_id, const char *tier,
		       const char *actor, const char *ns);
/* periscope-shell-<session id>. 0, or -1 when it does not fit. */
int shell_object_name(const char *session_id, char *out, size_t len);

/* The kinds of a session's objects, in the order they are deleted: the Pod first (that
 * invalidates the token bound to it and ends its exec streams), the ServiceAccount last. */
enum shell_object_kind {
	SHELL_OBJ_POD,
	SHELL_OBJ_SECRET,
	SHELL_OBJ_CLUSTER_ROLE_BINDING,
	SHELL_OBJ_CLUSTER_ROLE,
	SHELL_OBJ_SERVICE_ACCOUNT,
	SHELL_OBJ_KINDS
};
#define SHELL_OBJ_ALL ((1u << SHELL_OBJ_KINDS) - 1)

const char *shell_object_resource(enum shell_object_kind k); /* "pods", "clusterroles", ... */
/* The collection's REST path (namespaced kinds in ns). 0, or -1 when it does not fit. */
int shell_collection_path(enum shell_object_kind k, const char *ns, char *out, size_t len);

/* How long the session's token must live: the session's maximum duration, else the login
 * session's absolute lifetime (at least 10 minutes, the apiserver's minimum). */
int shell_token_ttl(const struct config *cfg);

json_t *shell_service_account(const struct shell_objects *o);
json_t *shell_cluster_role(const struct shell_objects *o);
json_t *shell_cluster_role_binding(const struct shell_objects *o);
/* A TokenRequest bound to the session's Pod (its uid from the create answer). */
json_t *shell_token_request(int ttl_seconds, const char *pod_name, const char *pod_uid);
json_t *shell_secret(const struct shell_objects *o, const char *kubeconfig_text);
json_t *shell_pod(const struct config *cfg, const struct shell_objects *o, const char *mode);

enum pod_state { POD_WAITING, POD_READY, POD_FAILED };
/* Reads a Pod: ready when Running with the shell container ready; failed when Failed,
 * Succeeded, or a container is stuck (ImagePullBackOff, ErrImagePull, CrashLoopBackOff,
 * CreateContainerConfigError, InvalidImageName). reason gets the pod's own words. */
enum pod_state shell_pod_state(json_t *pod, char *reason, size_t reasonlen);

/* The in-pod command log (JSON lines {ts,pid,argv}) as [{timestamp, argv, pid}]; lines
 * that do not parse (or were cut by the byte cap) are skipped. */
json_t *shell_parse_command_log(const char *text, size_t len);

#endif
