/* The cluster-shell backend: a per-session pod on the target cluster whose kubeconfig
 * impersonates the operator and their tier, attached through exec over WebSocket
 * (v5.channel.k8s.io, else v4). The pod's credential is the session's own: a ServiceAccount
 * whose ClusterRole may impersonate only this operator, tier and session, and a token bound
 * to the pod (refreshed when the apiserver shortened it). Teardown reads the in-pod command
 * log back and deletes every object of the session on every path. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "agent/tunnel_streams.h"
#include "backends.h"
#include "k8s/cluster_access.h"
#include "k8s/cluster_shell_spec.h"
#include "k8s/cluster_shell_sweep.h"
#include "k8s/k8s_watch.h"
#include "net/http_client.h"
#include "k8s/k8s_channel.h"
#include "k8s/k8s_client.h"
#include "k8s/k8s_exec_url.h"
#include "k8s/kubeconfig.h"
#include "shell/transcript.h"
#include "core/log.h"
#include "store/dbx.h"
#include "store/agent_registry.h"
#include "store/shell_registry.h"
#include "core/timeutil.h"
#include "net/wsclient.h"

#define EXEC_CONNECT_TIMEOUT_MS 15000
#define READBACK_TIMEOUT_MS 5000
/* A token whose lifetime is this much shorter than asked for was shortened by the
 * apiserver (its Date and the expiry differ by a second or so otherwise). */
#define TOKEN_SHORTENED_SLACK_S 60

struct cluster_shell {
	struct session *s;
	struct kube_target target;
	struct k8s_client k8s;
	struct http_wait wait;
	struct shell_objects obj;
	const char *ns;
	unsigned created;             /* the kinds (1u << shell_object_kind) that may exist */
	bool pod_created;
	char pod_uid[64];
	/* The token, on the apiserver's clock (Unix seconds): refreshed at refresh_at when the
	 * apiserver shortened it, else never (0). */
	long long token_expiry, refresh_at;
	long long next_check;         /* monotonic ms of the next look at the apiserver's clock */
	struct ws_client *exec;
	enum k8s_proto proto;
	struct buf frame;             /* reused encode buffer: no allocation per keystroke */
	struct buf status_bytes;      /* channel 3, parsed when the stream ends */
	bool have_status;
	struct k8s_status status;
	/* The teardown readback of the command log: head and tail within transcriptMaxBytes. */
	struct transcript readback;
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
	int rc = cluster_kube_target(s->cluster, s->creds, &cs->target, err, sizeof err);

	if (rc == -2)
		session_fail(s, "E_CLUSTER_SHELL_UNSUPPORTED", false, "the cluster shell is not available "
			     "here: %s", err);
	else if (rc != 0)
		session_fail(s, "E_UPSTREAM", true, "cannot reach cluster %s: %s", s->target.cluster, err);
	return rc == 0 ? 0 : -1;
}

/* The pod's kubeconfig trusts the cluster's own CA, which the kubelet projects from the
 * namespace's kube-root-ca.crt (never the CA of periscope's route to the cluster, which may
 * be a proxy's). Checked here so that its absence is a clear error, not a pod stuck in
 * ContainerCreating. */
static int check_root_ca(struct cluster_shell *cs)
{
	struct k8s_response r;
	char path[512], err[256];
	const char *ca;
	int rc = -1;

	snprintf(path, sizeof path, "/api/v1/namespaces/%s/configmaps/" SHELL_ROOT_CA_CONFIGMAP, cs->ns);
	if (k8s_call(&cs->k8s, "GET", path, NULL, &r, err, sizeof err) != 0) {
		session_fail(cs->s, "E_UPSTREAM", true, "cannot reach cluster %s: %s", cs->s->target.cluster, err);
	} else if (r.abandoned) {
		/* the browser left meanwhile */
	} else if (r.status == 200 &&
		   (ca = json_string_value(json_object_get(json_object_get(r.body, "data"), "ca.crt"))) && *ca) {
		rc = 0;
	} else if (r.status == 200 || r.status == 404) {
		session_fail(cs->s, "E_CLUSTER_SHELL_NO_CA", false,
			     "namespace %s has no " SHELL_ROOT_CA_CONFIGMAP " ConfigMap with the cluster's CA "
			     "(every namespace has one where the root CA publisher runs)", cs->ns);
	} else {
		session_fail(cs->s, r.status == 403 ? "E_FORBIDDEN" : "E_UPSTREAM", r.status >= 500,
			     "reading %s/" SHELL_ROOT_CA_CONFIGMAP " was refused (HTTP %ld): %s", cs->ns,
			     r.status, k8s_status_text(&r));
	}
	k8s_response_clear(&r);
	return rc;
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

/* POSTs one object of the session into its collection. */
static int create_object(struct cluster_shell *cs, enum shell_object_kind kind, const char *what,
			 json_t *body, json_t **answer)
{
	char path[512];

	if (shell_collection_path(kind, cs->ns, path, sizeof path) != 0) {
		json_decref(body);
		session_fail(cs->s, "E_INTERNAL", false, "the shell namespace name is too long");
		return -1;
	}
	strncat(path, "?fieldManager=periscope", sizeof path - strlen(path) - 1);
	/* It may exist even when the answer is lost: teardown deletes it either way. */
	cs->created |= 1u << kind;
	return create(cs, what, path, body, answer);
}

/* The session's identity on the cluster, before its pod: the ServiceAccount, its
 * ClusterRole, and the binding between them. */
static int create_identity(struct cluster_shell *cs)
{
	return create_object(cs, SHELL_OBJ_SERVICE_ACCOUNT, "session service account",
			     shell_service_account(&cs->obj), NULL) != 0 ||
		       create_object(cs, SHELL_OBJ_CLUSTER_ROLE, "session cluster role",
				     shell_cluster_role(&cs->obj), NULL) != 0 ||
		       create_object(cs, SHELL_OBJ_CLUSTER_ROLE_BINDING, "session cluster role binding",
				     shell_cluster_role_binding(&cs->obj), NULL) != 0
		       ? -1
		       : 0;
}

static int create_pod(struct cluster_shell *cs)
{
	struct session *s = cs->s;
	json_t *answer = NULL;
	const char *uid;
	int rc;

	rc = create_object(cs, SHELL_OBJ_POD, "shell pod",
			   shell_pod(s->cfg, &cs->obj, s->target.mode ? s->target.mode : "bash"), &answer);
	cs->pod_created = rc == 0;
	uid = json_string_value(json_object_get(json_object_get(answer, "metadata"), "uid"));
	if (rc == 0 && (!uid || strlen(uid) >= sizeof cs->pod_uid)) {
		session_fail(s, "E_UPSTREAM", true, "the apiserver's answer names no pod uid");
		rc = -1;
	} else if (rc == 0) {
		snprintf(cs->pod_uid, sizeof cs->pod_uid, "%s", uid);
	}
	json_decref(answer);
	return rc;
}

/* A token of the session's ServiceAccount, and when it is due for a refresh. */
struct session_token {
	char *value;                  /* malloc'd; a secret */
	long long expiry;             /* on the apiserver's clock, Unix seconds */
	long long refresh_at;         /* half its lifetime when the apiserver shortened it, else 0 */
	long long granted;            /* its lifetime, seconds */
};

static void session_token_clear(struct session_token *t)
{
	if (t->value) {
		explicit_bzero(t->value, strlen(t->value));
		free(t->value);
	}
	memset(t, 0, sizeof *t);
}

/* A token for the session's ServiceAccount, bound to its pod: deleting the pod invalidates
 * it. Its expiry is read on the apiserver's clock (its Date header): where the lifetime is
 * shorter than asked (--service-account-max-token-expiration), a refresh is due at half of
 * it. 0, or -1 with err ("" when the browser left meanwhile: nothing to report). */
static int mint_token(struct cluster_shell *cs, struct session_token *t, char *err, size_t errlen)
{
	int ttl = shell_token_ttl(cs->s->cfg), rc = -1;
	json_t *body = shell_token_request(ttl, cs->obj.name, cs->pod_uid);
	struct k8s_response r;
	char path[512];
	const char *token, *expiry;
	long long exp_ns, now;

	memset(t, 0, sizeof *t);
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/serviceaccounts/%s/token", cs->ns, cs->obj.name);
	if (k8s_call(&cs->k8s, "POST", path, body, &r, err, errlen) != 0) {
		json_decref(body);
		return -1;
	}
	json_decref(body);
	token = json_string_value(json_object_get(json_object_get(r.body, "status"), "token"));
	expiry = json_string_value(json_object_get(json_object_get(r.body, "status"), "expirationTimestamp"));
	if (r.abandoned)
		err[0] = '\0';
	else if (r.status / 100 != 2)
		snprintf(err, errlen, "HTTP %ld: %s", r.status, k8s_status_text(&r));
	else if (!token || !expiry || parse_rfc3339_ns(expiry, &exp_ns) != 0)
		snprintf(err, errlen, "the TokenRequest answer holds no token or expiry");
	else if (!(t->value = strdup(token)))
		snprintf(err, errlen, "out of memory");
	else {
		now = r.server_date ? r.server_date : now_ms() / 1000;
		t->expiry = exp_ns / 1000000000LL;
		t->granted = t->expiry - now;
		t->refresh_at = t->granted < ttl - TOKEN_SHORTENED_SLACK_S ? now + t->granted / 2 : 0;
		if (t->refresh_at && !cs->token_expiry)
			log_json(LOG_INFO, "cluster_shell", "the apiserver shortened the session token; it is refreshed at half its lifetime",
				 json_pack("{s:s, s:i, s:I, s:s}", "session_id", cs->s->session_id, "requested_seconds", ttl,
					   "granted_seconds", (json_int_t)t->granted, "warning", r.warning));
		rc = 0;
	}
	k8s_response_clear(&r);
	return rc;
}

static char *render_kubeconfig(struct cluster_shell *cs, const char *token)
{
	struct session *s = cs->s;
	struct shell_kubeconfig k = {
		.server = SHELL_POD_SERVER, .ca_file = SHELL_CA_FILE, .token = token,
		.as_user = s->id.subject, .as_group = cs->obj.tier_group, .session_id = s->session_id,
		.actor = s->id.subject,
	};

	return kubeconfig_render_shell(&k);
}

static void wipe_free(char *secret)
{
	if (secret) {
		explicit_bzero(secret, strlen(secret));
		free(secret);
	}
}

/* The token's schedule counts once the Secret holds it. */
static void token_in_use(struct cluster_shell *cs, const struct session_token *t)
{
	cs->token_expiry = t->expiry;
	cs->refresh_at = t->refresh_at;
}

/* The Secret the pod's volume waits for: the kubeconfig with a token bound to the pod. */
static int create_secret(struct cluster_shell *cs)
{
	struct session_token t;
	char err[256], *text = NULL;
	int rc = -1;

	if (mint_token(cs, &t, err, sizeof err) != 0) {
		if (err[0])
			session_fail(cs->s, "E_UPSTREAM", true, "the session token could not be minted: %s", err);
	} else if (!(text = render_kubeconfig(cs, t.value))) {
		session_fail(cs->s, "E_INTERNAL", false, "cannot build the session kubeconfig");
	} else {
		rc = create_object(cs, SHELL_OBJ_SECRET, "kubeconfig secret", shell_secret(&cs->obj, text), NULL);
		if (rc == 0)
			token_in_use(cs, &t);
	}
	session_token_clear(&t);
	wipe_free(text);
	return rc;
}

/* A new token in the Secret (an unconditional update: Secrets allow one), which the kubelet
 * carries into the pod's volume. On failure the schedule stays, so the next check retries. */
static void refresh_token(struct cluster_shell *cs)
{
	struct k8s_response r = { 0 };
	struct session_token t;
	char err[256], path[512];
	char *text = NULL;
	json_t *secret = NULL;

	snprintf(path, sizeof path, "/api/v1/namespaces/%s/secrets/%s?fieldManager=periscope", cs->ns,
		 cs->obj.name);
	if (mint_token(cs, &t, err, sizeof err) != 0)
		log_msg(LOG_WARN, "cluster_shell", "session %s: the token refresh failed: %s",
			cs->s->session_id, err[0] ? err : "the browser left");
	else if (!(text = render_kubeconfig(cs, t.value)) || !(secret = shell_secret(&cs->obj, text)))
		log_msg(LOG_WARN, "cluster_shell", "session %s: cannot build the refreshed kubeconfig",
			cs->s->session_id);
	else if (k8s_call(&cs->k8s, "PUT", path, secret, &r, err, sizeof err) != 0 || r.status / 100 != 2)
		log_msg(LOG_WARN, "cluster_shell", "session %s: writing the refreshed token failed: %s",
			cs->s->session_id, r.status ? k8s_status_text(&r) : err);
	else {
		token_in_use(cs, &t);
		log_json(LOG_INFO, "cluster_shell", "refreshed the session token",
			 json_pack("{s:s, s:I, s:I}", "session_id", cs->s->session_id, "granted_seconds",
				   (json_int_t)t.granted, "expires", (json_int_t)t.expiry));
	}
	k8s_response_clear(&r);
	json_decref(secret);
	session_token_clear(&t);
	wipe_free(text);
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
	struct k8s_watch_stats stats;
	char path[512], err[256];
	int rc;

	snprintf(w.reason, sizeof w.reason, "not scheduled yet");
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods?fieldSelector=metadata.name%%3D%s",
		 cs->ns, cs->obj.name);
	/* A watch can end, be cut or expire at any time: k8s_watch_until watches again (and
	 * lists again after 410 Gone) until the pod is ready or the deadline passes. */
	rc = k8s_watch_until(&cs->k8s, path, deadline, on_pod_event, &w, &stats, err, sizeof err);
	if (stats.retries || stats.relists)
		log_json(LOG_INFO, "cluster_shell", "the pod watch was started again",
			 json_pack("{s:s, s:i, s:i, s:s}", "session_id", s->session_id, "retries",
				   stats.retries, "relists", stats.relists, "last_error", stats.last_error));
	if (rc == 1)
		return 0;
	if (rc == -2 || s->close_reason[0])
		return -1;
	if (rc == 2 || rc == -1) {
		session_fail(s, "E_SHELL_POD_FAILED", rc == -1, "the shell pod did not start: %s",
			     rc == -1 ? err : w.reason);
		return -1;
	}
	session_fail(s, "E_SHELL_POD_FAILED", true, "the shell pod was not ready after %d s: %s%s%s",
		     timeout, w.reason, stats.last_error[0] ? "; last watch error: " : "", stats.last_error);
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
		.server = cs->target.server, .ns = cs->ns, .pod = cs->obj.name,
		.container = SHELL_CONTAINER, .command = command, .stdin_ = tty, .stdout_ = true,
		.stderr_ = !tty, .tty = tty,
	};
	char *url = k8s_exec_url(&rq, err, errlen);
	struct buf auth, session_hdr;
	struct ws_client *c = NULL;

	buf_init(&auth, 70000);
	buf_init(&session_hdr, 256);
	/* An EKS token lives 14 minutes: a readback at the end of a long session needs a new one. */
	if (url && kube_target_fresh(&cs->target, false, err, errlen) != 0) {
		free(url);
		url = NULL;
	}
	if (!url || (cs->target.token && buf_printf(&auth, "Authorization: Bearer %s", cs->target.token) != 0) ||
	    buf_printf(&session_hdr, "Audit-Annotation-Periscope-Session-Id: %s", cs->s->session_id) != 0)
		goto done;
	{
		const char *headers[] = { session_hdr.data, auth.data, NULL };
		struct ws_client_opts o = {
			.url = url, .ca_file = cs->target.ca_file, .headers = headers,
			.cert_file = cs->target.cert_file, .key_file = cs->target.key_file,
			.connect_to = cs->target.connect_to,
			.subprotocols = k8s_subprotocol_offer, .connect_timeout_ms = EXEC_CONNECT_TIMEOUT_MS,
			.on_message = on_message, .userdata = ud,
			/* client-go's exec stream (tools/remotecommand/websocket.go): a ping every
			 * PingPeriod (5 s), and a read deadline of 12 periods + 1 s. */
			.ping_interval_ms = cs->s->cfg->cluster_shell.timers.upstream_ping_seconds * 1000,
			.read_timeout_ms = (cs->s->cfg->cluster_shell.timers.upstream_ping_seconds * 12 + 1) * 1000,
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

/* Order matters: the ServiceAccount before the pod (admission refuses a pod whose account
 * does not exist), the pod before its token (a token binds to an existing object's uid),
 * the token before the Secret the pod's volume waits for (the kubelet starts the container
 * only once it exists). */
static int cs_start(struct session *s)
{
	struct cluster_shell *cs = calloc(1, sizeof *cs);

	if (!cs) {
		session_fail(s, "E_INTERNAL", false, "out of memory");
		return -1;
	}
	s->backend = cs;
	cs->s = s;
	cs->ns = ns_of(s);
	buf_init(&cs->frame, 64 * 1024);
	buf_init(&cs->status_bytes, 64 * 1024);
	if (transcript_init(&cs->readback, (size_t)s->cfg->cluster_shell.transcript_max_bytes) != 0) {
		session_fail(s, "E_INTERNAL", false, "out of memory");
		return -1;
	}
	session_http_wait(s, &cs->wait);
	cs->k8s.target = &cs->target;
	cs->k8s.wait = &cs->wait;
	/* A dozen calls to one apiserver at the start: one connection (NULL: one each). */
	cs->k8s.share = http_share_new();
	cs->k8s.tally = &s->tally;
	if (shell_objects_init(&cs->obj, s->session_id, tier_name(s->id.tier), s->id.subject, cs->ns) != 0) {
		session_fail(s, "E_INTERNAL", false, "cannot name the session's objects");
		return -1;
	}
	if (load_target(cs) != 0)
		return -1;
	if (check_root_ca(cs) != 0 || create_identity(cs) != 0 || create_pod(cs) != 0 ||
	    create_secret(cs) != 0)
		return -1;
	/* While the kubelet starts the pod: what sessions that died since the last reap left
	 * behind goes (the full sweep is periscope.fcgi's, every 15 s). */
	cluster_shell_sweep_reaped(s->dbx, s->cfg->database.replica_id, &cs->k8s, s->target.cluster, cs->ns);
	{
		json_t *d = json_pack("{s:s, s:s}", "namespace", cs->ns, "pod", cs->obj.name);
		char *text = d ? json_dumps(d, JSON_COMPACT) : NULL;
		shell_registry_set_detail_dbx(s->dbx, s->session_id, text);
		free(text);
		json_decref(d);
	}
	if (wait_ready(cs) != 0 || attach(cs) != 0)
		return -1;
	cs->next_check = monotonic_ms() + (long long)s->cfg->cluster_shell.token_refresh_check_seconds * 1000;
	return 0;
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

/* An agent cluster's exec stream that ended without an exit status: was it the tunnel? The
 * reason then says so (agent_disconnected) instead of a stream that merely closed. */
static bool agent_tunnel_dropped(struct session *s)
{
	struct agent_record rec;

	return s->cluster && s->cluster->backend == BACKEND_AGENT &&
	       agent_lookup_dbx(s->dbx, s->cluster->name, &rec) == 1 &&
	       tunnel_dropped(PROC_NET_TCP, rec.tunnel_port, 1000) == 1;
}

static int cs_on_events(struct session *s, struct pollfd *fds, int n)
{
	struct cluster_shell *cs = s->backend;
	struct ws_close_info info;
	bool ready;

	if (n < 1)
		return 0;
	ready = fds[0].revents || ws_client_has_buffered_input(cs->exec);
	/* Without events, the keystrokes this pass read from the browser leave now rather than
	 * after one more poll() for POLLOUT (a wake-up in every keystroke's round trip). */
	if ((ready ? ws_client_on_ready(cs->exec, fds[0].revents) : ws_client_flush(cs->exec)) < 0 &&
	    !ws_client_closed(cs->exec)) {
		ws_client_close_info(cs->exec, &info);
		if (agent_tunnel_dropped(s)) {
			session_set_exit(s, "agent_disconnected", -1);
			return 1;
		}
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
	session_set_exit(s, agent_tunnel_dropped(s) ? "agent_disconnected" : "upstream_closed", -1);
	return 1;
}

static long long cs_next_tick(struct session *s)
{
	struct cluster_shell *cs = s->backend;
	long long now = monotonic_ms();

	if (!cs || !cs->exec)
		return -1;
	/* TLS may hold decrypted bytes that poll() cannot see: come back at once. */
	if (ws_client_has_buffered_input(cs->exec))
		return now;
	return ws_client_next_keepalive(cs->exec, now);
}

/* A shortened token is refreshed at half its lifetime, on the apiserver's clock: every
 * tokenRefreshCheckSeconds, its Date header says whether that time has come. */
static int cs_tick(struct session *s, long long now)
{
	struct cluster_shell *cs = s->backend;
	struct k8s_response r;
	char err[256];

	if (cs && cs->exec && ws_client_keepalive(cs->exec, now) != 0) {
		struct ws_close_info info;

		ws_client_close_info(cs->exec, &info);
		session_fail(s, "E_UPSTREAM", true, "the exec stream failed: %s",
			     info.error ? info.error : "connection lost");
		return -1;
	}
	if (!cs || !cs->refresh_at || !cs->exec || now < cs->next_check)
		return 0;
	cs->next_check = now + (long long)s->cfg->cluster_shell.token_refresh_check_seconds * 1000;
	if (k8s_call(&cs->k8s, "GET", "/version", NULL, &r, err, sizeof err) != 0) {
		log_msg(LOG_WARN, "cluster_shell", "session %s: reading the apiserver's clock: %s",
			s->session_id, err);
		return 0;
	}
	if (!r.abandoned && (r.server_date ? r.server_date : now_ms() / 1000) >= cs->refresh_at)
		refresh_token(cs);
	k8s_response_clear(&r);
	return 0;
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

	if (op != WS_OPCODE_BINARY || k8s_decode(data, len, &f) != 0 || f.channel != 1)
		return;
	transcript_add(&cs->readback, f.payload, f.len);
}

/* A final exec: `cat` of the in-pod command log, of which the first and the last half of
 * transcriptMaxBytes are kept (shell/transcript.h): past the cap, the first commands and
 * the last ones, and how many bytes of the log went unread between them. */
static void read_command_log(struct cluster_shell *cs, json_t *extra)
{
	static const char *const cat[] = { "cat", SHELL_AUDIT_FILE, NULL };
	long long deadline = monotonic_ms() + READBACK_TIMEOUT_MS;
	struct ws_client *c;
	json_t *commands;
	char err[512], *log_text;
	size_t log_len;

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
	/* The line cut at the end of the head and the one cut at the start of the tail are no
	 * JSON: the parser skips them. */
	log_text = transcript_join(&cs->readback, "\n", &log_len);
	commands = shell_parse_command_log(log_text ? log_text : "", log_text ? log_len : 0);
	free(log_text);
	json_object_set_new(extra, "commands_count", json_integer((json_int_t)json_array_size(commands)));
	json_object_set_new(extra, "commands", commands);
	if (transcript_truncated(&cs->readback)) {
		json_object_set_new(extra, "commands_truncated", json_true());
		json_object_set_new(extra, "commands_log_bytes", json_integer(cs->readback.total));
		json_object_set_new(extra, "commands_omitted_bytes",
				    json_integer(cs->readback.total - (long long)(cs->readback.head_len +
										 cs->readback.tail_len)));
	}
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
	json_object_set_new(extra, "pod", json_string(cs->obj.name));
	if (cs->pod_created)
		read_command_log(cs, extra);
	/* The pod first: its token dies with it. */
	if (cs->created)
		cluster_shell_delete_session(&cs->k8s, cs->ns, s->session_id, cs->created);
	http_share_free(cs->k8s.share);
	kube_target_clear(&cs->target);
	buf_free(&cs->frame);
	buf_free(&cs->status_bytes);
	transcript_free(&cs->readback);
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
	.tick = cs_tick,
	.teardown = cs_teardown,
	.describe = cs_describe,
};
