/* The cluster-shell backend: a per-session pod on the target cluster whose kubeconfig
 * impersonates the operator and their tier, attached through exec over WebSocket
 * (v5.channel.k8s.io, else v4). Teardown reads the in-pod command log back and deletes
 * the Pod and the Secret on every path. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "backends.h"
#include "k8s/cluster_access.h"
#include "k8s/cluster_shell_spec.h"
#include "k8s/cluster_shell_sweep.h"
#include "net/http_client.h"
#include "k8s/k8s_channel.h"
#include "k8s/k8s_client.h"
#include "k8s/k8s_exec_url.h"
#include "k8s/kubeconfig.h"
#include "core/log.h"
#include "store/shell_registry.h"
#include "core/timeutil.h"
#include "net/wsclient.h"

#define EXEC_CONNECT_TIMEOUT_MS 15000
#define READBACK_TIMEOUT_MS 5000

struct cluster_shell {
	struct session *s;
	struct kube_target target;
	struct k8s_client k8s;
	struct http_wait wait;
	struct shell_session_names names;
	const char *ns;
	char *pod_ca;                 /* the CA the pod's kubeconfig trusts */
	bool secret_created, pod_created;
	struct ws_client *exec;
	enum k8s_proto proto;
	struct buf frame;             /* reused encode buffer: no allocation per keystroke */
	struct buf status_bytes;      /* channel 3, parsed when the stream ends */
	bool have_status;
	struct k8s_status status;
	/* The teardown readback. */
	struct buf readback;
	bool readback_truncated;
};

static const char *ns_of(const struct session *s)
{
	const char *over = s->cluster->cluster_shell.namespace_;

	return over && *over ? over : s->cfg->cluster_shell.namespace_;
}

static int load_target(struct cluster_shell *cs)
{
	struct session *s = cs->s;
	char err[512];
	int rc = cluster_kube_target(s->cluster, &cs->target, err, sizeof err);

	if (rc == -2)
		session_fail(s, "E_CLUSTER_SHELL_UNSUPPORTED", false, "the cluster shell is not available "
			     "here: %s", err);
	else if (rc != 0)
		session_fail(s, "E_UPSTREAM", true, "cannot reach cluster %s: %s", s->target.cluster, err);
	return rc == 0 ? 0 : -1;
}

static void delete_quietly(struct cluster_shell *cs, const char *kind, const char *name)
{
	struct k8s_response r;
	char path[512], err[256];

	snprintf(path, sizeof path, "/api/v1/namespaces/%s/%s/%s?gracePeriodSeconds=0", cs->ns, kind, name);
	if (k8s_call(&cs->k8s, "DELETE", path, NULL, &r, err, sizeof err) != 0)
		log_msg(LOG_WARN, "cluster_shell", "delete %s/%s: %s", kind, name, err);
	else if (r.status / 100 != 2 && r.status != 404)
		log_msg(LOG_WARN, "cluster_shell", "delete %s/%s: HTTP %ld: %s", kind, name, r.status,
			k8s_status_text(&r));
	k8s_response_clear(&r);
}

/* The CA the pod's kubeconfig needs: the cluster's own (kubeconfig or in-cluster), else
 * what kube-public/cluster-info publishes. */
static int find_pod_ca(struct cluster_shell *cs)
{
	struct k8s_response r;
	char err[256];
	const char *kc;

	if (cs->target.ca_pem) {
		cs->pod_ca = strdup(cs->target.ca_pem);
		return cs->pod_ca ? 0 : -1;
	}
	if (k8s_call(&cs->k8s, "GET", "/api/v1/namespaces/kube-public/configmaps/cluster-info", NULL,
		     &r, err, sizeof err) == 0 && r.status == 200 &&
	    (kc = json_string_value(json_object_get(json_object_get(r.body, "data"), "kubeconfig"))) &&
	    kubeconfig_ca_from_text(kc, strlen(kc), &cs->pod_ca, err, sizeof err) == 0) {
		k8s_response_clear(&r);
		return 0;
	}
	k8s_response_clear(&r);
	session_fail(cs->s, "E_CLUSTER_SHELL_NO_CA", false,
		     "the cluster's CA is unknown: the kubeconfig has none and kube-public/cluster-info "
		     "gave none");
	return -1;
}

/* POST that must succeed; on refusal the session fails with the apiserver's own words. */
static int create(struct cluster_shell *cs, const char *what, const char *path, json_t *body,
		  json_t **answer)
{
	struct k8s_response r;
	char err[256];
	int rc = -1;

	if (k8s_call(&cs->k8s, "POST", path, body, &r, err, sizeof err) != 0) {
		session_fail(cs->s, "E_UPSTREAM", true, "creating the %s failed: %s", what, err);
	} else if (r.abandoned) {
		/* the browser left meanwhile: nothing to report */
	} else if (r.status / 100 != 2) {
		session_fail(cs->s, r.status == 403 ? "E_FORBIDDEN" : "E_SHELL_POD_FAILED", false,
			     "creating the %s was refused (HTTP %ld): %s", what, r.status, k8s_status_text(&r));
	} else {
		if (answer)
			*answer = json_incref(r.body);
		rc = 0;
	}
	k8s_response_clear(&r);
	json_decref(body);
	return rc;
}

static char *mint_token(struct cluster_shell *cs)
{
	char path[512];
	json_t *answer = NULL;
	const char *token;
	char *copy = NULL;

	snprintf(path, sizeof path, "/api/v1/namespaces/%s/serviceaccounts/%s/token", cs->ns,
		 cs->names.service_account);
	if (create(cs, "service-account token", path, shell_token_request(shell_token_ttl(cs->s->cfg)),
		   &answer) != 0)
		return NULL;
	token = json_string_value(json_object_get(json_object_get(answer, "status"), "token"));
	if (token)
		copy = strdup(token);
	else
		session_fail(cs->s, "E_UPSTREAM", true, "the TokenRequest answer holds no token");
	json_decref(answer);
	return copy;
}

static int create_secret(struct cluster_shell *cs, const char *token)
{
	struct session *s = cs->s;
	char group[96], path[512];
	struct shell_kubeconfig k = {
		.server = SHELL_POD_SERVER, .ca_pem = cs->pod_ca, .token = token,
		.as_user = s->id.subject, .as_group = group, .session_id = s->session_id,
		.actor = s->id.subject,
	};
	char *text;
	int rc;

	snprintf(group, sizeof group, "periscope-tier:%s", tier_name(s->id.tier));
	text = kubeconfig_render_shell(&k);
	if (!text) {
		session_fail(s, "E_INTERNAL", false, "cannot build the session kubeconfig");
		return -1;
	}
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/secrets?fieldManager=periscope", cs->ns);
	rc = create(cs, "kubeconfig secret", path,
		    shell_secret(&cs->names, s->session_id, tier_name(s->id.tier), text), NULL);
	explicit_bzero(text, strlen(text));
	free(text);
	cs->secret_created = rc == 0;
	return rc;
}

struct ready_wait {
	struct cluster_shell *cs;
	char reason[256];
};

static int on_pod_event(void *ud, const char *type, json_t *pod)
{
	struct ready_wait *w = ud;
	enum pod_state st;

	if (type && strcmp(type, "DELETED") == 0) {
		snprintf(w->reason, sizeof w->reason, "the pod was deleted");
		return 2;
	}
	st = shell_pod_state(pod, w->reason, sizeof w->reason);
	return st == POD_READY ? 1 : st == POD_FAILED ? 2 : 0;
}

static int wait_ready(struct cluster_shell *cs)
{
	struct session *s = cs->s;
	int timeout = s->cfg->cluster_shell.pod_start_timeout_seconds;
	long long deadline = monotonic_ms() + (long long)timeout * 1000;
	struct ready_wait w = { .cs = cs };
	char path[512], err[256];

	snprintf(w.reason, sizeof w.reason, "not scheduled yet");
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods?fieldSelector=metadata.name%%3D%s",
		 cs->ns, cs->names.name);
	/* A watch can end early (server timeout): watch again until the deadline. */
	while (!s->close_reason[0] && monotonic_ms() < deadline) {
		struct k8s_response r;
		int left = (int)((deadline - monotonic_ms() + 999) / 1000), rc;

		rc = k8s_watch(&cs->k8s, path, left > 0 ? left : 1, on_pod_event, &w, &r, err, sizeof err);
		if (r.abandoned) {
			k8s_response_clear(&r);
			return -1;
		}
		k8s_response_clear(&r);
		if (rc == 1)
			return 0;
		if (rc == 2 || rc < 0) {
			session_fail(s, "E_SHELL_POD_FAILED", rc < 0, "the shell pod did not start: %s",
				     rc < 0 ? err : w.reason);
			return -1;
		}
	}
	if (!s->close_reason[0])
		session_fail(s, "E_SHELL_POD_FAILED", true,
			     "the shell pod was not ready after %d s: %s", timeout, w.reason);
	return -1;
}

static void on_exec_message(void *ud, enum ws_opcode op, const uint8_t *data, size_t len)
{
	struct cluster_shell *cs = ud;
	struct k8s_frame f;

	if (op != WS_OPCODE_BINARY || k8s_decode(data, len, &f) != 0)
		return;
	if (f.channel == 1 || f.channel == 2) {
		session_emit_stdout(cs->s, f.payload, f.len);
	} else if (f.channel == 3) {
		buf_append(&cs->status_bytes, f.payload, f.len);
	}
}

static struct ws_client *open_exec(struct cluster_shell *cs, const char *const *command, bool tty,
				   ws_message_fn on_message, void *ud, char *err, size_t errlen)
{
	struct k8s_exec_request rq = {
		.server = cs->target.server, .ns = cs->ns, .pod = cs->names.name,
		.container = SHELL_CONTAINER, .command = command, .stdin_ = tty, .stdout_ = true,
		.stderr_ = !tty, .tty = tty,
	};
	char *url = k8s_exec_url(&rq, err, errlen);
	struct buf auth, session_hdr;
	struct ws_client *c = NULL;

	buf_init(&auth, 70000);
	buf_init(&session_hdr, 256);
	if (!url || buf_printf(&auth, "Authorization: Bearer %s", cs->target.token) != 0 ||
	    buf_printf(&session_hdr, "Audit-Annotation-Periscope-Session-Id: %s", cs->s->session_id) != 0)
		goto done;
	{
		const char *headers[] = { auth.data, session_hdr.data, NULL };
		struct ws_client_opts o = {
			.url = url, .ca_file = cs->target.ca_file, .headers = headers,
			.subprotocols = k8s_subprotocol_offer, .connect_timeout_ms = EXEC_CONNECT_TIMEOUT_MS,
			.on_message = on_message, .userdata = ud,
		};
		c = ws_client_new(&o, err, errlen);
		if (c && ws_client_connect(c, err, errlen) != 0) {
			size_t blen = 0;
			const char *body = ws_client_http_body(c, &blen);
			struct k8s_status st;
			/* A refused upgrade carries a Status: show the apiserver's own reason. */
			char serr[64];
			if (ws_client_http_status(c) > 0 && body &&
			    k8s_status_parse(body, blen, &st, serr, sizeof serr) == 0 && st.message[0])
				snprintf(err, errlen, "HTTP %d: %.400s", ws_client_http_status(c), st.message);
			ws_client_free(c);
			c = NULL;
		}
	}
done:
	free(url);
	if (auth.data)
		explicit_bzero(auth.data, auth.len);
	buf_free(&auth);
	buf_free(&session_hdr);
	return c;
}

static int attach(struct cluster_shell *cs)
{
	static const char *const bash[] = { "/bin/bash", "--login", NULL };
	char err[512];

	cs->exec = open_exec(cs, bash, true, on_exec_message, cs, err, sizeof err);
	if (!cs->exec) {
		session_fail(cs->s, "E_UPSTREAM", true, "cannot attach to the shell pod: %s", err);
		return -1;
	}
	cs->proto = k8s_proto_from_subprotocol(ws_client_subprotocol(cs->exec));
	if (cs->s->cols > 0)
		cs->s->ops->resize(cs->s, cs->s->cols, cs->s->rows);
	return 0;
}

static int cs_start(struct session *s)
{
	struct cluster_shell *cs = calloc(1, sizeof *cs);
	char *token = NULL;
	char path[512];
	int rc = -1;

	if (!cs) {
		session_fail(s, "E_INTERNAL", false, "out of memory");
		return -1;
	}
	s->backend = cs;
	cs->s = s;
	cs->ns = ns_of(s);
	buf_init(&cs->frame, 64 * 1024);
	buf_init(&cs->status_bytes, 64 * 1024);
	buf_init(&cs->readback, (size_t)s->cfg->cluster_shell.transcript_max_bytes);
	session_http_wait(s, &cs->wait);
	cs->k8s.target = &cs->target;
	cs->k8s.wait = &cs->wait;
	if (shell_names(s->session_id, tier_name(s->id.tier), s->id.subject, &cs->names) != 0 ||
	    load_target(cs) != 0)
		goto done;
	cluster_shell_sweep(s->db, &cs->k8s, cs->ns, s->session_id);
	if (find_pod_ca(cs) != 0 || !(token = mint_token(cs)) || create_secret(cs, token) != 0)
		goto done;
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods?fieldManager=periscope", cs->ns);
	if (create(cs, "shell pod", path,
		   shell_pod(s->cfg, &cs->names, s->session_id, tier_name(s->id.tier), s->id.subject,
			     s->target.mode ? s->target.mode : "bash"), NULL) != 0)
		goto done;
	cs->pod_created = true;
	{
		json_t *d = json_pack("{s:s, s:s}", "namespace", cs->ns, "pod", cs->names.name);
		char *text = d ? json_dumps(d, JSON_COMPACT) : NULL;
		shell_registry_set_detail(s->db, s->session_id, text);
		free(text);
		json_decref(d);
	}
	if (wait_ready(cs) != 0 || attach(cs) != 0)
		goto done;
	rc = 0;
done:
	if (token) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	return rc;
}

static int cs_add_fds(struct session *s, struct pollfd *fds, int max, bool read_ok)
{
	struct cluster_shell *cs = s->backend;

	if (!cs->exec || max < 1)
		return 0;
	ws_client_pause_reading(cs->exec, !read_ok);
	fds[0] = (struct pollfd){ ws_client_fd(cs->exec), ws_client_poll_events(cs->exec), 0 };
	return 1;
}

static int cs_on_events(struct session *s, struct pollfd *fds, int n)
{
	struct cluster_shell *cs = s->backend;
	struct ws_close_info info;

	if (n < 1)
		return 0;
	if ((fds[0].revents || ws_client_has_buffered_input(cs->exec)) &&
	    ws_client_on_ready(cs->exec, fds[0].revents) < 0 && !ws_client_closed(cs->exec)) {
		ws_client_close_info(cs->exec, &info);
		session_fail(s, "E_UPSTREAM", true, "the exec stream failed: %s",
			     info.error ? info.error : "connection lost");
		return -1;
	}
	if (s->fail_code)
		return -1;
	if (!ws_client_closed(cs->exec))
		return 0;
	if (cs->status_bytes.len) {
		char serr[64];
		cs->have_status = k8s_status_parse(cs->status_bytes.data, cs->status_bytes.len,
						   &cs->status, serr, sizeof serr) == 0;
	}
	if (cs->have_status && cs->status.kind != K8S_STATUS_FAILURE) {
		session_set_exit(s, "exit", cs->status.kind == K8S_STATUS_EXIT ? cs->status.exit_code : 0);
		return 1;
	}
	if (cs->have_status) {
		char text[600];
		k8s_status_describe(&cs->status, text, sizeof text);
		session_fail(s, cs->status.code == 403 ? "E_FORBIDDEN" : "E_UPSTREAM", false, "%s", text);
		return -1;
	}
	session_set_exit(s, "upstream_closed", -1);
	return 1;
}

static long long cs_next_tick(struct session *s)
{
	struct cluster_shell *cs = s->backend;

	/* TLS may hold decrypted bytes that poll() cannot see: come back at once. */
	return cs && cs->exec && ws_client_has_buffered_input(cs->exec) ? monotonic_ms() : -1;
}

static int send_frame(struct cluster_shell *cs)
{
	int rc = ws_client_send(cs->exec, WS_OPCODE_BINARY, cs->frame.data, cs->frame.len);

	if (rc != 0) {
		session_fail(cs->s, "E_UPSTREAM", true, rc > 0 ? "the pod is not reading its input"
							      : "the exec stream is closed");
		return -1;
	}
	return 0;
}

static int cs_send_input(struct session *s, const unsigned char *data, size_t len)
{
	struct cluster_shell *cs = s->backend;

	if (!cs->exec)
		return 0;
	buf_reset(&cs->frame);
	if (k8s_encode_stdin(&cs->frame, data, len) != 0)
		return -1;
	return send_frame(cs);
}

static int cs_resize(struct session *s, int cols, int rows)
{
	struct cluster_shell *cs = s->backend;

	if (!cs || !cs->exec)
		return 0; /* remembered in the session; sent once attached */
	buf_reset(&cs->frame);
	if (k8s_encode_resize(&cs->frame, (unsigned)cols, (unsigned)rows) != 0)
		return -1;
	return send_frame(cs);
}

static void on_readback(void *ud, enum ws_opcode op, const uint8_t *data, size_t len)
{
	struct cluster_shell *cs = ud;
	struct k8s_frame f;
	size_t room;

	if (op != WS_OPCODE_BINARY || k8s_decode(data, len, &f) != 0 || f.channel != 1)
		return;
	room = cs->readback.max - cs->readback.len;
	if (f.len > room)
		cs->readback_truncated = true;
	buf_append(&cs->readback, f.payload, f.len > room ? room : f.len);
}

/* A final exec: `cat` of the in-pod command log, capped at transcriptMaxBytes. */
static void read_command_log(struct cluster_shell *cs, json_t *extra)
{
	static const char *const cat[] = { "cat", SHELL_AUDIT_FILE, NULL };
	long long deadline = monotonic_ms() + READBACK_TIMEOUT_MS;
	struct ws_client *c;
	json_t *commands;
	char err[512];

	c = open_exec(cs, cat, false, on_readback, cs, err, sizeof err);
	if (!c) {
		log_msg(LOG_WARN, "cluster_shell", "command log readback: %s", err);
		json_object_set_new(extra, "commands_error", json_string(err));
		return;
	}
	while (!ws_client_closed(c) && monotonic_ms() < deadline) {
		struct pollfd p = { ws_client_fd(c), ws_client_poll_events(c), 0 };
		if (poll(&p, 1, ws_client_has_buffered_input(c) ? 0 : 200) < 0)
			break;
		if (ws_client_on_ready(c, p.revents) < 0)
			break;
	}
	ws_client_free(c);
	commands = shell_parse_command_log(cs->readback.data ? cs->readback.data : "", cs->readback.len);
	json_object_set_new(extra, "commands_count", json_integer((json_int_t)json_array_size(commands)));
	json_object_set_new(extra, "commands", commands);
	if (cs->readback_truncated)
		json_object_set_new(extra, "commands_truncated", json_true());
}

static void cs_teardown(struct session *s, json_t *extra)
{
	struct cluster_shell *cs = s->backend;

	if (!cs)
		return;
	/* The browser may be gone: nothing here waits on it. */
	cs->k8s.wait = NULL;
	if (cs->exec) {
		ws_client_close(cs->exec, 1000, "session ended");
		ws_client_free(cs->exec);
		cs->exec = NULL;
	}
	json_object_set_new(extra, "namespace", json_string(cs->ns));
	json_object_set_new(extra, "pod", json_string(cs->names.name));
	if (cs->pod_created)
		read_command_log(cs, extra);
	if (cs->pod_created)
		delete_quietly(cs, "pods", cs->names.name);
	if (cs->secret_created)
		delete_quietly(cs, "secrets", cs->names.name);
	kube_target_clear(&cs->target);
	free(cs->pod_ca);
	buf_free(&cs->frame);
	buf_free(&cs->status_bytes);
	buf_free(&cs->readback);
	free(cs);
	s->backend = NULL;
}

static void cs_describe(struct session *s, json_t *extra)
{
	json_object_set_new(extra, "namespace", json_string(ns_of(s)));
	json_object_set_new(extra, "backend", json_string(cluster_backend_name(s->cluster->backend)));
}

const struct backend_ops cluster_shell_ops = {
	.kind = "cluster_shell",
	.start = cs_start,
	.add_fds = cs_add_fds,
	.on_events = cs_on_events,
	.send_input = cs_send_input,
	.resize = cs_resize,
	.next_tick = cs_next_tick,
	.teardown = cs_teardown,
	.describe = cs_describe,
};
