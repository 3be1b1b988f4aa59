/* periscope-wsbridge: one process per terminal session, started by websocketd after the
 * upgrade. websocketd turns the request into CGI-style variables (REQUEST_URI,
 * HTTP_COOKIE, HTTP_ORIGIN) and the WebSocket into lines on stdin/stdout. Nothing from a
 * header is trusted: identity comes from the session cookie, checked here again, and the
 * caps are taken atomically in SQLite before anything is created. */
#include <curl/curl.h>
#include <fcntl.h>
#include <malloc.h>
#include <libxml/parser.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "backends.h"
#include "store/db.h"
#include "store/dbx_config.h"
#include "shell/frames.h"
#include "core/log.h"
#include "net/client_addr.h"
#include "session.h"
#include "metrics/metrics_store.h"
#include "store/audit_refusal.h"
#include "store/shell_registry.h"
#include "core/timeutil.h"

/* Before a session exists, a refusal is one error frame and the end. */
static int refuse(const char *code, const char *message, json_t *extras)
{
	struct buf out;
	json_t *frame = json_pack("{s:s, s:s, s:s, s:b, s:b}", "type", "error", "code", code,
				  "message", message, "retryable", 0, "fatal", 1);

	if (frame && extras)
		json_object_update_missing(frame, extras);
	buf_init(&out, 1 << 20);
	if (frame_object(&out, frame) == 0 && write(STDOUT_FILENO, out.data, out.len) < 0) {
		/* websocketd is gone: nobody left to tell */
	}
	buf_free(&out);
	return 1;
}

static int refuse_gate(struct gate_answer *ans)
{
	return refuse(ans->code, ans->message, ans->extras);
}

static int setup_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* glibc's malloc moves its mmap threshold up to the largest block freed (up to 32 MiB) and
 * its trim threshold to twice that: after one burst of output, every later buffer of that
 * size comes from the heap and the heap keeps megabytes it no longer uses (a node shell
 * after 100 MB of output: 5.2 MB of heap, against 1.0 MB with these fixed). Fixed
 * thresholds: blocks of 128 KiB and more are mapped and unmapped on their own, and the
 * heap's top is given back past 128 KiB free. */
static int fix_malloc_thresholds(void)
{
	return mallopt(M_MMAP_THRESHOLD, 128 * 1024) == 1 && mallopt(M_TRIM_THRESHOLD, 128 * 1024) == 1
		       ? 0 : -1;
}

static const struct backend_ops *backend_for(enum shell_kind kind)
{
	return kind == SHELL_CLUSTER ? &cluster_shell_ops : &node_shell_ops;
}

/* The bridge's own refusals are audited as the authorizer's are (fcgi/shell_authorizer.c):
 * under Apache the authorizer cannot see the upgrade, so the Origin refusal is only here;
 * and a cap taken between the two checks is refused only here. websocketd's REMOTE_ADDR is
 * the web server: the client is the entry its proxy appended to X-Forwarded-For. */
static void audit_refused(struct session *s, bool signed_in, const struct gate_answer *ans)
{
	char client[CLIENT_ADDR_MAX];
	char *groups = signed_in ? json_dumps(s->id.groups, JSON_COMPACT) : NULL;
	struct audit_refusal r = {
		.verb = s->target.kind == SHELL_CLUSTER ? "cluster_shell_open" : "ssm_session_open",
		.code = ans->code, .message = ans->message, .status = ans->status,
		.actor_sub = signed_in ? s->id.subject : NULL,
		.actor_email = signed_in ? s->id.email : NULL, .actor_groups_json = groups,
		.cluster = s->target.cluster, .cluster_label = metrics_cluster_label(s->cfg, s->target.cluster),
		.target = s->target.node, .client = client,
		.via = "wsbridge", .window_s = s->cfg->audit.refusal_window_s,
	};

	client_address(getenv("REMOTE_ADDR"), getenv("HTTP_X_FORWARDED_FOR"), client, sizeof client);
	if (audit_refusal_record_dbx(s->dbx, &r, now_ms() / 1000) < 0)
		log_msg(LOG_ERROR, "wsbridge", "refusal %s not audited", ans->code);
	free(groups);
}

/* Authentication and every gate, then the atomic admission. 0, or an exit status. */
static int admit(struct session *s, struct oidc_provider **provider, struct auth_ctx *auth)
{
	const char *uri = getenv("REQUEST_URI");
	struct gate_answer ans = { 0 };
	struct shell_slot slot = { 0 };
	char err[512];
	enum auth_status st;
	char *groups = NULL;
	uuid_t u;
	int rc = 1;

	if (!uri || shell_target_parse(uri, &s->target) != 1)
		return refuse("E_NOT_FOUND", "not a terminal path", NULL);
	auth->cfg = s->cfg;
	auth->db = s->dbx;
	auth->provider = provider;
	auth->tally = &s->tally;
	s->auth = auth;
	st = auth_from_cookie(auth, s->cookie, now_ms() / 1000, &s->id, err, sizeof err);
	if (st == AUTH_ERROR) {
		log_msg(LOG_ERROR, "wsbridge", "session check failed: %s", err);
		return refuse("E_INTERNAL", "could not check your session", NULL);
	}
	if (shell_gates_static(s->cfg, &s->target, st == AUTH_OK ? &s->id : NULL, &ans) != 0 ||
	    shell_gate_origin(s->cfg, getenv("HTTP_ORIGIN"), &ans) != 0 ||
	    shell_gate_tunnel(s->cfg, s->dbx, &s->target, &ans) != 0)
		goto refused;
	s->cluster = config_find_cluster(s->cfg, s->target.cluster);
	s->ops = backend_for(s->target.kind);
	if (!s->ops) {
		rc = refuse("E_NOT_IMPLEMENTED", "this kind of shell is not available yet", NULL);
		goto done;
	}
	uuid_generate_random(u);
	uuid_unparse_lower(u, s->session_id);
	slot.id = s->session_id;
	slot.kind = shell_kind_name(s->target.kind);
	slot.actor = s->id.subject;
	slot.actor_email = s->id.email;
	groups = s->id.groups ? json_dumps(s->id.groups, JSON_COMPACT) : NULL;
	slot.actor_groups_json = groups;
	slot.cluster = s->target.cluster;
	slot.target = s->target.node;
	slot.tier = tier_name(s->id.tier);
	slot.mode = s->target.kind == SHELL_CLUSTER ? (s->target.mode ? s->target.mode : "bash") : NULL;
	slot.pid = getpid();
	slot.replica = s->cfg->database.replica_id;
	if (shell_gates_caps(s->cfg, s->dbx, &s->target, &s->id, &slot, &ans) != 0)
		goto refused;
	s->admitted = true;
	rc = 0;
	goto done;
refused:
	log_json(LOG_INFO, "wsbridge", "session refused",
		 json_pack("{s:s, s:s, s:s?}", "code", ans.code, "cluster", s->target.cluster, "sub",
			   s->id.subject));
	audit_refused(s, st == AUTH_OK, &ans);
	rc = refuse_gate(&ans);
done:
	free(groups);
	gate_answer_clear(&ans);
	return rc;
}

int main(void)
{
	struct session s;
	struct auth_ctx auth = { 0 };
	struct oidc_provider *provider = NULL;
	struct config *cfg = NULL;
	char *cookie = NULL;
	char err[1024];
	int status = 1;
	bool malloc_fixed;

	memset(&s, 0, sizeof s);
	s.rec.fd = -1; /* not recording until session_run starts it */
	/* Only memory is at stake: an allocator that takes no such settings (ASan's answers 0)
	 * is said in the log, and the session goes on. */
	malloc_fixed = fix_malloc_thresholds() == 0;
	s.upgraded_mono = monotonic_ms();
	buf_init(&s.in, FRAME_MAX_LINE);
	buf_init(&s.out, 64u << 20);
	buf_init(&s.held, FRAME_STDOUT_CHUNK);
	s.signal_fd = setup_signals();
	if (s.signal_fd < 0 || fcntl(STDOUT_FILENO, F_SETFL, O_NONBLOCK) != 0 ||
	    fcntl(STDIN_FILENO, F_SETFL, O_NONBLOCK) != 0) {
		status = refuse("E_INTERNAL", "cannot set up the session process", NULL);
		goto done;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		status = refuse("E_INTERNAL", "cannot initialise libcurl", NULL);
		goto done;
	}
	xmlInitParser();
	cfg = config_load(NULL, err, sizeof err);
	if (!cfg) {
		log_msg(LOG_ERROR, "wsbridge", "%s", err);
		status = refuse("E_INTERNAL", "the server's configuration does not load", NULL);
		goto done;
	}
	s.cfg = cfg;
	/* The bridge's own lines go where server.wsbridgeLog says, with their real level:
	 * websocketd logs every line of a child's stderr as ERROR, so stderr keeps the errors. */
	if (log_sink_open(cfg->server.wsbridge_log, "periscope-wsbridge", err, sizeof err) != 0)
		log_msg(LOG_ERROR, "wsbridge", "%s; logging to stderr", err);
	if (!malloc_fixed)
		log_msg(LOG_DEBUG, "wsbridge", "malloc's thresholds are the allocator's own (mallopt refused)");
	s.creds = cred_cache_new(cfg);
	if (!s.creds) {
		status = refuse("E_INTERNAL", "out of memory", NULL);
		goto done;
	}
	if (dbx_open_configured(cfg, &s.dbx, err, sizeof err) != 0) {
		log_msg(LOG_ERROR, "wsbridge", "%s", err);
		status = refuse("E_INTERNAL", "the session database is unavailable", NULL);
		goto done;
	}
	s.db = s.dbx->lite;
	/* SQLite keeps up to 2 MB of pages per connection by default; the bridge reads and
	 * writes a few small rows, and once the close row, whose transcript (up to
	 * nodeShell.transcriptMaxBytes, escaped) would otherwise stay cached to the exit:
	 * 256 KiB is enough (the close's peak RSS 0.85 MB lower; docs/HACKING.md). */
	if (s.db && sqlite3_exec(s.db, "PRAGMA cache_size = -256", NULL, NULL, NULL) != SQLITE_OK)
		log_msg(LOG_WARN, "wsbridge", "PRAGMA cache_size: %s", sqlite3_errmsg(s.db));
	cookie = cookie_value(getenv("HTTP_COOKIE"), cfg->session.cookie_name);
	s.cookie = cookie;
	status = admit(&s, &provider, &auth);
	if (status != 0)
		goto done;
	/* session_run releases the registry row with the close row. */
	status = session_run(&s);
done:
	if (s.out_off < s.out.len)
		session_flush(&s, 1000);
	if (cookie) {
		explicit_bzero(cookie, strlen(cookie));
		free(cookie);
	}
	identity_clear(&s.id);
	shell_target_clear(&s.target);
	buf_free(&s.in);
	buf_free(&s.out);
	buf_free(&s.held);
	oidc_provider_free(provider);
	dbx_close(s.dbx);
	cred_cache_free(s.creds);
	config_free(cfg);
	xmlCleanupParser();
	curl_global_cleanup();
	if (s.signal_fd >= 0)
		close(s.signal_fd);
	return status;
}
