/* The Kubernetes objects of one cluster-shell session (seed section 4): the TokenRequest
 * for periscope-shell-<tier>, the Secret holding the session's kubeconfig, and the Pod,
 * with restricted security, ownership labels and an activeDeadlineSeconds backstop. */
#ifndef PERISCOPE_CLUSTER_SHELL_SPEC_H
#define PERISCOPE_CLUSTER_SHELL_SPEC_H

#include <jansson.h>
#include <stddef.h>

#include "config/config.h"

#define SHELL_CONTAINER "shell"
#define SHELL_AUDIT_FILE "/tmp/periscope-shell/audit.jsonl"
#define SHELL_KUBECONFIG_DIR "/etc/periscope"
#define SHELL_POD_SERVER "https://kubernetes.default.svc"
#define LABEL_MANAGED_BY "app.kubernetes.io/managed-by"
#define LABEL_SESSION "periscope.io/session-id"

struct shell_session_names {
	char name[64];            /* periscope-shell-<session id>: the Pod and the Secret */
	char service_account[64]; /* periscope-shell-<tier> */
	char actor_hash[16];      /* first 12 hex of SHA-256(sub): labels cannot hold any sub */
};

int shell_names(const char *session_id, const char *tier, const char *actor,
		struct shell_session_names *out);

/* How long the session's service-account token must live: the session's maximum
 * duration, else the login session's absolute lifetime (at least 10 minutes). */
int shell_token_ttl(const struct config *cfg);

json_t *shell_token_request(int ttl_seconds);
json_t *shell_secret(const struct shell_session_names *n, const char *session_id,
		     const char *tier, const char *kubeconfig_text);
json_t *shell_pod(const struct config *cfg, const struct shell_session_names *n,
		  const char *session_id, const char *tier, const char *actor, const char *mode);

enum pod_state { POD_WAITING, POD_READY, POD_FAILED };
/* Reads a Pod: ready when Running with the shell container ready; failed when Failed,
 * Succeeded, or a container is stuck (ImagePullBackOff, ErrImagePull, CrashLoopBackOff,
 * CreateContainerConfigError, InvalidImageName). reason gets the pod's own words. */
enum pod_state shell_pod_state(json_t *pod, char *reason, size_t reasonlen);

/* The in-pod command log (JSON lines {ts,pid,argv}) as [{timestamp, argv, pid}]; lines
 * that do not parse (or were cut by the byte cap) are skipped. */
json_t *shell_parse_command_log(const char *text, size_t len);

#endif
