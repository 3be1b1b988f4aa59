#include "k8s/cluster_shell_spec.h"

#include <stdio.h>
#include <string.h>

#include "core/encoding.h"

int shell_names(const char *session_id, const char *tier, const char *actor,
		struct shell_session_names *out)
{
	char hash[2 * SHA256_LEN + 1];

	if (sha256_hex(actor, strlen(actor), hash) != 0)
		return -1;
	snprintf(out->name, sizeof out->name, "periscope-shell-%s", session_id);
	snprintf(out->service_account, sizeof out->service_account, "periscope-shell-%s", tier);
	snprintf(out->actor_hash, sizeof out->actor_hash, "%.12s", hash);
	return 0;
}

int shell_token_ttl(const struct config *cfg)
{
	int max = cfg->cluster_shell.timers.max_duration_seconds;
	int ttl = max > 0 ? max + cfg->cluster_shell.pod_start_timeout_seconds + 300
			  : cfg->session.absolute_timeout_s;

	return ttl < 600 ? 600 : ttl;
}

json_t *shell_token_request(int ttl_seconds)
{
	return json_pack("{s:s, s:s, s:{s:i}}", "apiVersion", "authentication.k8s.io/v1", "kind",
			 "TokenRequest", "spec", "expirationSeconds", ttl_seconds);
}

static json_t *labels(const struct shell_session_names *n, const char *session_id, const char *tier)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "app.kubernetes.io/name", "periscope-shell",
			 LABEL_MANAGED_BY, "periscope", LABEL_SESSION, session_id, "periscope.io/tier",
			 tier, "periscope.io/actor-hash", n->actor_hash);
}

json_t *shell_secret(const struct shell_session_names *n, const char *session_id,
		     const char *tier, const char *kubeconfig_text)
{
	char *b64 = b64_encode(kubeconfig_text, strlen(kubeconfig_text));
	json_t *s = b64 ? json_pack("{s:s, s:s, s:{s:s, s:o}, s:s, s:{s:s}}", "apiVersion", "v1",
				    "kind", "Secret", "metadata", "name", n->name, "labels",
				    labels(n, session_id, tier), "type", "Opaque", "data",
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

json_t *shell_pod(const struct config *cfg, const struct shell_session_names *n,
		  const char *session_id, const char *tier, const char *actor, const char *mode)
{
	json_t *env = json_pack("[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}, {s:s, s:s}]",
				"name", "PERISCOPE_SHELL_SESSION_ID", "value", session_id,
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

	return json_pack(
		"{s:s, s:s, s:{s:s, s:o, s:{s:s, s:s}},"
		" s:{s:s, s:s, s:b, s:i, s:i, s:b,"
		"    s:{s:b, s:i, s:i, s:i, s:{s:s}},"
		"    s:[o], s:[{s:s, s:{s:s, s:i, s:[{s:s, s:s}]}}]}}",
		"apiVersion", "v1", "kind", "Pod",
		"metadata", "name", n->name, "labels", labels(n, session_id, tier), "annotations",
		"periscope.io/actor", actor, "periscope.io/mode", mode,
		"spec", "restartPolicy", "Never", "serviceAccountName", n->service_account,
		"automountServiceAccountToken", 0, "terminationGracePeriodSeconds", 5,
		"activeDeadlineSeconds", active_deadline(cfg), "enableServiceLinks", 0,
		"securityContext", "runAsNonRoot", 1, "runAsUser", 10001, "runAsGroup", 10001,
		"fsGroup", 10001, "seccompProfile", "type", "RuntimeDefault",
		"containers", container,
		"volumes", "name", "kubeconfig", "secret", "secretName", n->name, "defaultMode", 0440,
		"items", "key", "kubeconfig", "path", "kubeconfig");
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
