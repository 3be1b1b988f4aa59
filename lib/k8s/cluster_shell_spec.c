#include "k8s/cluster_shell_spec.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/encoding.h"

int shell_objects_init(struct shell_objects *o, const char *session_id, const char *tier,
		       const char *actor, const char *ns)
{
	char hash[2 * SHA256_LEN + 1];

	if (sha256_hex(actor, strlen(actor), hash) != 0)
		return -1;
	o->session_id = session_id;
	o->tier = tier;
	o->actor = actor;
	o->ns = ns;
	if (shell_object_name(session_id, o->name, sizeof o->name) != 0)
		return -1;
	snprintf(o->tier_group, sizeof o->tier_group, "periscope-tier:%s", tier);
	snprintf(o->actor_hash, sizeof o->actor_hash, "%.12s", hash);
	return 0;
}

int shell_object_name(const char *session_id, char *out, size_t len)
{
	int n = snprintf(out, len, "periscope-shell-%s", session_id);

	return n > 0 && (size_t)n < len ? 0 : -1;
}

static const struct {
	const char *resource;
	const char *prefix;  /* the API group's path */
	bool namespaced;
} kinds[SHELL_OBJ_KINDS] = {
	[SHELL_OBJ_POD] = { "pods", "/api/v1", true },
	[SHELL_OBJ_SECRET] = { "secrets", "/api/v1", true },
	[SHELL_OBJ_CLUSTER_ROLE_BINDING] = { "clusterrolebindings", "/apis/rbac.authorization.k8s.io/v1", false },
	[SHELL_OBJ_CLUSTER_ROLE] = { "clusterroles", "/apis/rbac.authorization.k8s.io/v1", false },
	[SHELL_OBJ_SERVICE_ACCOUNT] = { "serviceaccounts", "/api/v1", true },
};

const char *shell_object_resource(enum shell_object_kind k)
{
	return kinds[k].resource;
}

int shell_collection_path(enum shell_object_kind k, const char *ns, char *out, size_t len)
{
	int n = kinds[k].namespaced
			? snprintf(out, len, "%s/namespaces/%s/%s", kinds[k].prefix, ns, kinds[k].resource)
			: snprintf(out, len, "%s/%s", kinds[k].prefix, kinds[k].resource);

	return n > 0 && (size_t)n < len ? 0 : -1;
}

int shell_token_ttl(const struct config *cfg)
{
	int max = cfg->cluster_shell.timers.max_duration_seconds;
	int ttl = max > 0 ? max + cfg->cluster_shell.pod_start_timeout_seconds + 300
			  : cfg->session.absolute_timeout_s;

	return ttl < 600 ? 600 : ttl;
}

/* The labels every object of the session carries: the sweep finds a dead session's objects
 * by them (cluster-scoped ones by the namespace label, so that two installations with
 * different shell namespaces never sweep each other's). */
static json_t *labels(const struct shell_objects *o)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "app.kubernetes.io/name", "periscope-shell",
			 LABEL_MANAGED_BY, "periscope", LABEL_SESSION, o->session_id, LABEL_NAMESPACE,
			 o->ns, "periscope.io/tier", o->tier, "periscope.io/actor-hash", o->actor_hash);
}

static json_t *metadata(const struct shell_objects *o)
{
	return json_pack("{s:s, s:o}", "name", o->name, "labels", labels(o));
}

json_t *shell_service_account(const struct shell_objects *o)
{
	return json_pack("{s:s, s:s, s:o, s:b}", "apiVersion", "v1", "kind", "ServiceAccount",
			 "metadata", metadata(o), "automountServiceAccountToken", 0);
}

/* What the session's token may do: impersonate this operator, this tier's group and this
 * session's audit extras, nothing else. The apiserver authorizes each impersonated
 * attribute on its own (impersonation.go): the user name against `users`, each group
 * against `groups`, each extra value against `userextras/<key>`, the value being the
 * resource name; so each rule names exactly the one value this session may send. */
json_t *shell_cluster_role(const struct shell_objects *o)
{
	json_t *rules = json_pack(
		"[{s:[s], s:[s], s:[s], s:[s]}, {s:[s], s:[s], s:[s], s:[s]},"
		" {s:[s], s:[s], s:[s], s:[s]}, {s:[s], s:[s], s:[s], s:[s]}]",
		"apiGroups", "", "resources", "users", "verbs", "impersonate", "resourceNames", o->actor,
		"apiGroups", "", "resources", "groups", "verbs", "impersonate", "resourceNames",
		o->tier_group,
		"apiGroups", "authentication.k8s.io", "resources", "userextras/" EXTRA_SESSION_ID,
		"verbs", "impersonate", "resourceNames", o->session_id,
		"apiGroups", "authentication.k8s.io", "resources", "userextras/" EXTRA_ACTOR, "verbs",
		"impersonate", "resourceNames", o->actor);

	return json_pack("{s:s, s:s, s:o, s:o}", "apiVersion", "rbac.authorization.k8s.io/v1", "kind",
			 "ClusterRole", "metadata", metadata(o), "rules", rules);
}

json_t *shell_cluster_role_binding(const struct shell_objects *o)
{
	return json_pack("{s:s, s:s, s:o, s:{s:s, s:s, s:s}, s:[{s:s, s:s, s:s}]}", "apiVersion",
			 "rbac.authorization.k8s.io/v1", "kind", "ClusterRoleBinding", "metadata",
			 metadata(o), "roleRef", "apiGroup", "rbac.authorization.k8s.io", "kind",
			 "ClusterRole", "name", o->name, "subjects", "kind", "ServiceAccount", "name",
			 o->name, "namespace", o->ns);
}

json_t *shell_token_request(int ttl_seconds, const char *pod_name, const char *pod_uid)
{
	return json_pack("{s:s, s:s, s:{s:i, s:{s:s, s:s, s:s, s:s}}}", "apiVersion",
			 "authentication.k8s.io/v1", "kind", "TokenRequest", "spec", "expirationSeconds",
			 ttl_seconds, "boundObjectRef", "apiVersion", "v1", "kind", "Pod", "name", pod_name,
			 "uid", pod_uid);
}

json_t *shell_secret(const struct shell_objects *o, const char *kubeconfig_text)
{
	char *b64 = b64_encode(kubeconfig_text, strlen(kubeconfig_text));
	json_t *s = b64 ? json_pack("{s:s, s:s, s:o, s:s, s:{s:s}}", "apiVersion", "v1", "kind",
				    "Secret", "metadata", metadata(o), "type", "Opaque", "data",
				    "kubeconfig", b64)
			: NULL;

	if (b64) {
		explicit_bzero(b64, strlen(b64));
		free(b64);
	}
	return s;
}

/* The cluster shell's lifetime is bounded by activeDeadlineSeconds even if everything that
 * should delete it (wsbridge teardown, the sweep) failed. */
static int active_deadline(const struct config *cfg)
{
	int max = cfg->cluster_shell.timers.max_duration_seconds;

	return (max > 0 ? max : cfg->session.absolute_timeout_s) +
	       cfg->cluster_shell.pod_start_timeout_seconds + 120;
}

/* One read-only volume at SHELL_KUBECONFIG_DIR: the Secret's kubeconfig and, beside it, the
 * cluster's CA from kube-root-ca.crt. The kubelet keeps both current (a refreshed token, a
 * rotated CA) and does not start the container before the Secret exists. */
static json_t *kubeconfig_volume(const struct shell_objects *o)
{
	return json_pack("{s:s, s:{s:i, s:[{s:{s:s, s:[{s:s, s:s}]}}, {s:{s:s, s:[{s:s, s:s}]}}]}}",
			 "name", "kubeconfig", "projected", "defaultMode", 0440, "sources", "secret",
			 "name", o->name, "items", "key", "kubeconfig", "path", "kubeconfig",
			 "configMap", "name", SHELL_ROOT_CA_CONFIGMAP, "items", "key", "ca.crt", "path",
			 SHELL_CA_FILE);
}

json_t *shell_pod(const struct config *cfg, const struct shell_objects *o, const char *mode)
{
	json_t *env = json_pack("[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}, {s:s, s:s}]",
				"name", "PERISCOPE_SHELL_SESSION_ID", "value", o->session_id,
				"name", "PERISCOPE_SHELL_MODE", "value", mode,
				"name", "PERISCOPE_SHELL_AUDIT_FILE", "value", SHELL_AUDIT_FILE,
				"name", "KUBECONFIG", "value", SHELL_KUBECONFIG_DIR "/kubeconfig");
	json_t *container = json_pack(
		"{s:s, s:s, s:s, s:b, s:b, s:b, s:o, s:[{s:s, s:s, s:b}],"
		" s:{s:{s:s, s:s}, s:{s:s, s:s}},"
		" s:{s:b, s:b, s:b, s:{s:[s]}}}",
		"name", SHELL_CONTAINER, "image", cfg->cluster_shell.image, "imagePullPolicy",
		cfg->cluster_shell.image_pull_policy, "stdin", 1, "stdinOnce", 1, "tty", 1, "env", env,
		"volumeMounts", "name", "kubeconfig", "mountPath", SHELL_KUBECONFIG_DIR, "readOnly", 1,
		"resources", "requests", "cpu", "100m", "memory", "128Mi", "limits", "cpu", "500m",
		"memory", "512Mi",
		"securityContext", "allowPrivilegeEscalation", 0, "privileged", 0, "runAsNonRoot", 1,
		"capabilities", "drop", "ALL");
	json_t *meta = metadata(o);

	if (meta && json_object_set_new(meta, "annotations",
					json_pack("{s:s, s:s}", "periscope.io/actor", o->actor,
						  "periscope.io/mode", mode)) != 0) {
		json_decref(meta);
		meta = NULL;
	}
	return json_pack(
		"{s:s, s:s, s:o,"
		" s:{s:s, s:s, s:b, s:i, s:i, s:b,"
		"    s:{s:b, s:i, s:i, s:i, s:{s:s}},"
		"    s:[o], s:[o]}}",
		"apiVersion", "v1", "kind", "Pod", "metadata", meta,
		"spec", "restartPolicy", "Never", "serviceAccountName", o->name,
		"automountServiceAccountToken", 0, "terminationGracePeriodSeconds", 5,
		"activeDeadlineSeconds", active_deadline(cfg), "enableServiceLinks", 0,
		"securityContext", "runAsNonRoot", 1, "runAsUser", 10001, "runAsGroup", 10001,
		"fsGroup", 10001, "seccompProfile", "type", "RuntimeDefault",
		"containers", container, "volumes", kubeconfig_volume(o));
}

static const char *const stuck_reasons[] = {
	"ImagePullBackOff", "ErrImagePull", "CrashLoopBackOff", "CreateContainerConfigError",
	"CreateContainerError", "InvalidImageName", "ErrImageNeverPull",
};

enum pod_state shell_pod_state(json_t *pod, char *reason, size_t reasonlen)
{
	json_t *status = json_object_get(pod, "status"), *cs;
	const char *phase = json_string_value(json_object_get(status, "phase"));
	size_t i;

	reason[0] = '\0';
	if (phase && (strcmp(phase, "Failed") == 0 || strcmp(phase, "Succeeded") == 0)) {
		const char *r = json_string_value(json_object_get(status, "reason"));
		const char *m = json_string_value(json_object_get(status, "message"));
		snprintf(reason, reasonlen, "pod %s%s%s%s%s", phase, r ? ": " : "", r ? r : "",
			 m ? ": " : "", m ? m : "");
		return POD_FAILED;
	}
	json_array_foreach(json_object_get(status, "containerStatuses"), i, cs) {
		json_t *waiting = json_object_get(json_object_get(cs, "state"), "waiting");
		const char *name = json_string_value(json_object_get(cs, "name"));
		const char *wr = json_string_value(json_object_get(waiting, "reason"));
		const char *wm = json_string_value(json_object_get(waiting, "message"));

		if (wr) {
			snprintf(reason, reasonlen, "%s%s%s", wr, wm ? ": " : "", wm ? wm : "");
			for (size_t k = 0; k < sizeof stuck_reasons / sizeof stuck_reasons[0]; k++)
				if (strcmp(wr, stuck_reasons[k]) == 0)
					return POD_FAILED;
		}
		if (phase && strcmp(phase, "Running") == 0 && name && strcmp(name, SHELL_CONTAINER) == 0 &&
		    json_is_true(json_object_get(cs, "ready")))
			return POD_READY;
	}
	if (!reason[0])
		snprintf(reason, reasonlen, "pod %s", phase ? phase : "not scheduled yet");
	return POD_WAITING;
}

json_t *shell_parse_command_log(const char *text, size_t len)
{
	json_t *commands = json_array();
	const char *p = text, *end = text + len;

	while (commands && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		json_t *line = n ? json_loadb(p, n, 0, NULL) : NULL;
		json_t *argv = json_object_get(line, "argv"), *ts = json_object_get(line, "ts");
		json_t *pid = json_object_get(line, "pid");

		if (json_is_array(argv) && json_is_string(ts) && json_is_integer(pid))
			json_array_append_new(commands, json_pack("{s:O, s:O, s:O}", "timestamp", ts,
								  "argv", argv, "pid", pid));
		json_decref(line);
		p += n + (nl ? 1 : 0);
	}
	return commands;
}
