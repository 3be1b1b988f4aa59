#include "session.h"

#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "metrics/metrics_store.h"
#include "store/dbx.h"
#include "store/audit.h"
#include "shell/client_lines.h"
#include "shell/frames.h"
#include "shell/out_batch.h"
#include "core/log.h"
#include "store/db.h"
#include "store/shell_registry.h"
#include "store/shell_control.h"
#include "core/timeutil.h"

#define HEARTBEAT_MISSES 3
/* A heartbeat that found the database's write lock taken is tried again this much later. */
#define HEARTBEAT_RETRY_MS 50
/* A heartbeat that failed (the database away, a failover) is tried again this soon: the
 * row's lease must be renewed within a second of the database's return, before another
 * replica's reaper trusts the leases again (fcgi/maintenance.c). */
#define HEARTBEAT_FAILED_RETRY_MS 1000

static int check_timers(struct session *s, long long now);

/* periscope_shell_open_seconds{kind,stage}: from the upgrade (this process's start) to the
 * hello frame, and to the first terminal output. One small write each, once a session. */
static void observe_open(struct session *s, const char *stage)
{
	char *labels = metrics_labels("kind", shell_kind_name(s->target.kind), "stage", stage, NULL);

	if (!labels || metrics_observe_ms_dbx(s->dbx, METRIC_OPEN_SECONDS, labels,
					      monotonic_ms() - s->upgraded_mono) != 0)
		log_msg(LOG_WARN, "wsbridge", "session %s: open latency not recorded", s->session_id);
	free(labels);
}

/* The upstream requests counted since the last flush (metrics/upstream_tally.h). */
static void flush_tally(struct session *s)
{
	cred_cache_take_tally(s->creds, &s->tally);
	if (metrics_upstream_flush_dbx(s->dbx, &s->tally) != 0)
		log_msg(LOG_WARN, "wsbridge", "session %s: upstream counts not recorded yet: %s",
			s->session_id, dbx_errmsg(s->dbx));
}

void session_fail(struct session *s, const char *code, bool retryable, const char *fmt, ...)
{
	va_list ap;

	if (s->fail_code)
		return; /* the first failure is the one to report */
	s->fail_code = code;
	s->fail_retryable = retryable;
	va_start(ap, fmt);
	vsnprintf(s->fail_message, sizeof s->fail_message, fmt, ap);
	va_end(ap);
}

void session_set_exit(struct session *s, const char *reason, int exit_code)
{
	if (s->close_reason[0])
		return;
	snprintf(s->close_reason, sizeof s->close_reason, "%s", reason);
	s->exit_code = exit_code;
}

static int queue_check(struct session *s)
{
	if (s->out.len - s->out_off > SESSION_OUT_MAX) {
		session_fail(s, "E_OUTPUT_OVERFLOW", true, "the browser did not keep up with the output");
		return -1;
	}
	return 0;
}

/* Output waits unframed in s->held and becomes one stdout frame when it leaves (the pacing
 * of shell/out_batch.h says when), when another frame must follow it (frames keep their
 * order), or once a frame's worth (FRAME_STDOUT_CHUNK) is held: the pieces upstream hands
 * over (an SSM message is 1 KiB, a pty read a few) travel as few frames, and websocketd,
 * the web server and the browser each pay per frame. */
static int frame_held(struct session *s)
{
	int rc = 0;

	if (s->held.len == 0)
		return 0;
	if (frame_stdout(&s->out, s->held.data, s->held.len) != 0) {
		session_fail(s, "E_OUTPUT_OVERFLOW", true, "the browser did not keep up with the output");
		rc = -1;
	}
	buf_reset(&s->held);
	return rc;
}

/* Bytes waiting for stdout: framed and not. */
static size_t out_pending(const struct session *s)
{
	return s->out.len - s->out_off + s->held.len;
}

int session_emit_stdout(struct session *s, const void *data, size_t len)
{
	const unsigned char *p = data;

	s->bytes_out += (long long)len;
	recording_output(&s->rec, data, len, monotonic_ms());
	if (!s->first_output_seen && len > 0) {
		s->first_output_seen = true;
		observe_open(s, "first_output");
	}
	s->last_activity = monotonic_ms();
	s->idle_warned = false;
	while (len > 0) {
		size_t n = FRAME_STDOUT_CHUNK - s->held.len;

		if (n > len)
			n = len;
		if (buf_append(&s->held, p, n) != 0) {
			session_fail(s, "E_OUTPUT_OVERFLOW", true, "the browser did not keep up with the output");
			return -1;
		}
		p += n;
		len -= n;
		if (s->held.len == FRAME_STDOUT_CHUNK && frame_held(s) != 0)
			return -1;
	}
	return queue_check(s);
}

/* Writes what stdout takes now; websocketd's pipe is non-blocking on our side. */
static int flush_some(struct session *s)
{
	while (s->out_off < s->out.len) {
		ssize_t n = write(STDOUT_FILENO, s->out.data + s->out_off, s->out.len - s->out_off);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				return -1; /* websocketd is gone */
			/* The written part goes once it is at least as long as what is left (so a
			 * byte is moved at most once on average). Kept, it would grow the buffer by
			 * all that passes through while stdout is never quite drained: 33.5 MB at the
			 * peak of a 100 MB cat, and at the buffer's maximum (64 MiB) the session
			 * would end as if the browser had not kept up. */
			if (s->out_off >= SESSION_OUT_KEEP && s->out_off >= s->out.len - s->out_off) {
				buf_drop_front(&s->out, s->out_off);
				s->out_off = 0;
			}
			return 0;
		}
		s->out_off += (size_t)n;
		s->last_write_us = monotonic_us();
	}
	/* All written: a buffer that grew in a burst (up to SESSION_OUT_MAX) is given back,
	 * so an idle bridge does not keep megabytes it needed once. */
	buf_reset_shrink(&s->out, SESSION_OUT_KEEP);
	s->out_off = 0;
	return 0;
}

void session_flush(struct session *s, int timeout_ms)
{
	long long deadline = monotonic_ms() + timeout_ms;

	if (frame_held(s) != 0)
		return;
	while (s->out_off < s->out.len && monotonic_ms() < deadline) {
		struct pollfd p = { STDOUT_FILENO, POLLOUT, 0 };
		if (poll(&p, 1, 50) < 0 && errno != EINTR)
			return;
		if (flush_some(s) != 0)
			return;
	}
}

static void send_frame_error(struct session *s, const char *code, const char *message, bool fatal)
{
	frame_held(s);
	frame_error(&s->out, code, message, false, fatal);
}

/* One complete line from the browser (shell/client_lines.h: stray bytes of a binary
 * message may precede the text message it holds, and an overlong line keeps only its end). */
static int handle_line(void *ud, const char *line, size_t len, bool overflowed)
{
	struct session *s = ud;
	struct client_frame f;
	size_t skipped;
	char err[160];
	int rc = 0;

	s->last_client_frame = monotonic_ms();
	if (frame_parse_client_tail(line, len, &f, &skipped, err, sizeof err) != 0) {
		if (overflowed)
			send_frame_error(s, "E_FRAME_TOO_LARGE", "frame longer than 64 KiB ignored", false);
		else
			send_frame_error(s, "E_BAD_FRAME", err, false);
		return 0;
	}
	if (skipped || overflowed)
		send_frame_error(s, "E_BINARY_FRAME",
				 "bytes that were not a text message (a binary WebSocket message?) were "
				 "ignored; the message after them was handled", false);
	switch (f.type) {
	case CLIENT_STDIN:
		s->bytes_in += (long long)f.len;
		s->last_activity = s->last_client_frame;
		s->idle_warned = false;
		s->watch.typed = true;
		recording_input(&s->rec, f.data, f.len, s->last_client_frame);
		if (s->ops && s->admitted && s->backend && f.len)
			rc = s->ops->send_input(s, f.data, f.len);
		break;
	case CLIENT_RESIZE:
		s->cols = f.cols;
		s->rows = f.rows;
		recording_resize(&s->rec, f.cols, f.rows, s->last_client_frame);
		if (s->ops && s->backend)
			rc = s->ops->resize(s, f.cols, f.rows);
		break;
	case CLIENT_PING:
		frame_held(s);
		frame_pong(&s->out, f.ts);
		break;
	case CLIENT_CLOSE:
		session_set_exit(s, "client_closed", -1);
		rc = 1;
		break;
	}
	client_frame_clear(&f);
	return rc;
}

/* Reads what stdin has and handles every complete line. 0 go on, 1 the browser is gone
 * or asked to close, -1 backend failure. */
static int read_client(struct session *s)
{
	char chunk[16384];
	ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : 1;
	if (n == 0) {
		s->stdin_eof = true;
		session_set_exit(s, "client_closed", -1);
		return 1;
	}
	return client_lines_feed(&s->in, &s->in_overflowed, chunk, (size_t)n, handle_line, s);
}

static int read_signal(struct session *s)
{
	struct signalfd_siginfo si;

	if (read(s->signal_fd, &si, sizeof si) != (ssize_t)sizeof si)
		return 0;
	/* websocketd sends SIGINT (then SIGTERM) after the browser left; SIGTERM alone is a
	 * shutdown of the service. */
	session_set_exit(s, si.ssi_signo == SIGINT || s->stdin_eof ? "client_closed" : "terminated", -1);
	return 1;
}

static int wait_fill(void *ud, struct pollfd *fds)
{
	struct session *s = ud;

	fds[0] = (struct pollfd){ s->signal_fd, POLLIN, 0 };
	fds[1] = (struct pollfd){ s->stdin_eof ? -1 : STDIN_FILENO, POLLIN, 0 };
	fds[2] = (struct pollfd){ s->out_off < s->out.len ? STDOUT_FILENO : -1, POLLOUT, 0 };
	return 3;
}

static int wait_serve(void *ud, struct pollfd *fds, int n)
{
	struct session *s = ud;

	(void)n;
	if ((fds[0].revents & POLLIN) && read_signal(s))
		return 1;
	if ((fds[1].revents & (POLLIN | POLLHUP | POLLERR)) && read_client(s) != 0)
		return 1;
	if (frame_held(s) != 0)
		return 1;
	if (flush_some(s) != 0) {
		session_set_exit(s, "client_closed", -1);
		return 1;
	}
	/* A slow start still ends when the browser stops sending heartbeats. */
	return check_timers(s, monotonic_ms());
}

void session_http_wait(struct session *s, struct http_wait *w)
{
	w->fill = wait_fill;
	w->serve = wait_serve;
	w->ud = s;
}

static void write_open_row(struct session *s)
{
	struct audit_event ev = { 0 };
	json_t *extra = json_pack("{s:s, s:s, s:s?}", "session_id", s->session_id, "tier",
				  tier_name(s->id.tier), "mode", s->target.mode ? s->target.mode : "bash");
	char *groups = json_dumps(s->id.groups, JSON_COMPACT);
	char started[40];

	format_rfc3339_ms(s->started_wall_ms, started, sizeof started);
	json_object_set_new(extra, "started_at", json_string(started));
	if (s->target.kind == SHELL_NODE)
		json_object_del(extra, "mode");
	if (s->ops->describe)
		s->ops->describe(s, extra);
	ev.verb = s->target.kind == SHELL_CLUSTER ? "cluster_shell_open" : "ssm_session_open";
	ev.outcome = "success";
	ev.actor_sub = s->id.subject;
	ev.actor_email = s->id.email;
	ev.actor_groups_json = groups;
	ev.cluster = s->target.cluster;
	ev.route = s->target.kind == SHELL_CLUSTER ? "/api/clusters/{c}/shell"
						    : "/api/clusters/{c}/nodes/{n}/shell";
	ev.extra = extra;
	audit_write_dbx(s->dbx, &ev, NULL);
	json_decref(extra);
	free(groups);
}

static void write_close_row(struct session *s, json_t *extra)
{
	struct audit_event ev = { 0 };
	char *groups = json_dumps(s->id.groups, JSON_COMPACT);
	char ended[40], started[40];
	long long now = now_ms();

	format_rfc3339_ms(s->started_wall_ms, started, sizeof started);
	format_rfc3339_ms(now, ended, sizeof ended);
	json_object_set_new(extra, "session_id", json_string(s->session_id));
	json_object_set_new(extra, "tier", json_string(tier_name(s->id.tier)));
	json_object_set_new(extra, "started_at", json_string(started));
	json_object_set_new(extra, "ended_at", json_string(ended));
	json_object_set_new(extra, "duration_ms", json_integer(now - s->started_wall_ms));
	json_object_set_new(extra, "exit_code", json_integer(s->exit_code));
	json_object_set_new(extra, "bytes_in", json_integer(s->bytes_in));
	json_object_set_new(extra, "bytes_out", json_integer(s->bytes_out));
	json_object_set_new(extra, "close_reason", json_string(s->close_reason));
	if (s->target.kind == SHELL_CLUSTER)
		json_object_set_new(extra, "mode", json_string(s->target.mode ? s->target.mode : "bash"));
	if (s->control.terminate)
		json_object_set_new(extra, "terminated_by",
				    json_pack("{s:s, s:s?}", "sub", s->control.by_sub, "email",
					      s->control.by_email[0] ? s->control.by_email : NULL));
	if (s->fail_code) {
		json_object_set_new(extra, "err_code", json_string(s->fail_code));
		json_object_set_new(extra, "err", json_string(s->fail_message));
	}
	ev.verb = s->target.kind == SHELL_CLUSTER ? "cluster_shell_close" : "ssm_session_close";
	ev.outcome = s->fail_code ? "failure" : "success";
	ev.reason = s->close_reason;
	ev.actor_sub = s->id.subject;
	ev.actor_email = s->id.email;
	ev.actor_groups_json = groups;
	ev.cluster = s->target.cluster;
	ev.extra = extra;
	if (s->close_raw.len) {
		ev.extra_raw = s->close_raw.data;
		ev.extra_raw_keys = s->close_raw_keys;
		ev.extra_raw_buf = &s->close_raw;   /* written once: its text is built there */
	}
	/* One transaction with the release of the registry row: if the sweep found this process
	 * gone meanwhile, it wrote the close row (reason "lost") and this one is not written. */
	if (shell_registry_close_dbx(s->dbx, s->session_id, &ev) == 0)
		log_json(LOG_WARN, "wsbridge", "the session was reaped as lost before it closed",
			 json_pack("{s:s}", "session_id", s->session_id));
	free(groups);
}

/* The registry row's heartbeat (store/shell_registry.h): what a lost close row reports if
 * this process dies without writing its own. */
/* periscope_shell_bytes_total{kind,direction}: the bytes relayed since the last count. */
static int count_bytes(struct session *s)
{
	const char *kind = shell_kind_name(s->target.kind);
	char *in = metrics_labels("kind", kind, "direction", "in", NULL);
	char *out = metrics_labels("kind", kind, "direction", "out", NULL);
	int rc = in && out &&
			 metrics_counter_add_dbx(s->dbx, "periscope_shell_bytes_total", in, s->bytes_in - s->counted_in) == 0 &&
			 metrics_counter_add_dbx(s->dbx, "periscope_shell_bytes_total", out, s->bytes_out - s->counted_out) == 0
		 ? 0 : -1;

	free(in);
	free(out);
	return rc;
}

/* The heartbeat's transaction. SQLite: the write lock only when it is free (1 when it is
 * not, 0 begun, -1 error). PostgreSQL: rows are locked one by one, nothing to wait for up
 * front. */
static int heartbeat_begin(struct session *s)
{
	if (s->dbx->engine == DBX_SQLITE)
		return db_try_begin_immediate(s->dbx->lite);
	return dbx_begin_write(s->dbx) == 0 ? 0 : -1;
}

/* The registry row's bytes and the byte counters move in one transaction: a bridge that
 * dies has counted exactly what its "lost" close row will report (store/shell_lost.h). The
 * heartbeat is also the row's lease (store/shell_registry.h): another replica reaps the
 * row once it is SHELL_LEASE_MS old. */
static void record_heartbeat(struct session *s, long long now)
{
	int begun = heartbeat_begin(s);

	/* Another writer holds the lock: try again shortly rather than sleep in SQLite's busy
	 * handler with keystrokes waiting (500 bridges write 50 heartbeats a second). */
	if (begun == 1) {
		s->next_heartbeat = now + HEARTBEAT_RETRY_MS;
		return;
	}
	if (begun != 0 ||
	    shell_registry_heartbeat_dbx(s->dbx, s->session_id, now_ms(), s->bytes_in, s->bytes_out) != 0 ||
	    shell_control_activity_dbx(s->dbx, s->session_id, now_ms() - (now - s->last_activity)) != 0 ||
	    count_bytes(s) != 0 || dbx_commit(s->dbx) != 0) {
		log_msg(LOG_WARN, "wsbridge", "session %s: heartbeat not recorded: %s", s->session_id,
			dbx_errmsg(s->dbx));
		dbx_rollback(s->dbx);
		s->next_heartbeat = now + HEARTBEAT_FAILED_RETRY_MS;
		return;
	}
	s->counted_in = s->bytes_in;
	s->counted_out = s->bytes_out;
}

static void heartbeat(struct session *s, long long now)
{
	if (now < s->next_heartbeat)
		return;
	s->next_heartbeat = now + SHELL_HEARTBEAT_MS;
	record_heartbeat(s, now);
	flush_tally(s);
}

static void send_hello(struct session *s)
{
	const struct terminal_timers *t = shell_timers_for(s->cfg, s->target.kind);
	json_t *hello = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:i}", "type", "hello",
				  "sessionId", s->session_id, "kind", shell_kind_name(s->target.kind),
				  "cluster", s->target.cluster, "tier", tier_name(s->id.tier),
				  "idleSeconds", t->idle_seconds, "idleWarnSeconds", t->idle_warn_seconds,
				  "heartbeatSeconds", t->heartbeat_seconds, "maxDurationSeconds",
				  t->max_duration_seconds);

	/* The cut counts from the bridge's start, which precedes the hello by the pod's or the
	 * SSM handshake's time: the page counts down from what is left, not from the limit. */
	if (hello && t->max_duration_seconds > 0) {
		long long left_ms = (long long)t->max_duration_seconds * 1000 -
				    (monotonic_ms() - s->started_mono);

		json_object_set_new(hello, "maxDurationRemainingSeconds",
				    json_integer(left_ms > 0 ? left_ms / 1000 : 0));
	}
	if (hello && s->target.kind == SHELL_NODE)
		json_object_set_new(hello, "target", json_string(s->target.node));
	if (hello && s->target.kind == SHELL_CLUSTER)
		json_object_set_new(hello, "mode", json_string(s->target.mode ? s->target.mode : "bash"));
	frame_held(s);
	frame_object(&s->out, hello);
}

/* Idle, idle warning, heartbeat and maximum duration. 1 when the session must end. */
static int check_timers(struct session *s, long long now)
{
	const struct terminal_timers *t = shell_timers_for(s->cfg, s->target.kind);
	long long idle_ms = (long long)t->idle_seconds * 1000, quiet = now - s->last_activity;

	heartbeat(s, now);
	recording_tick(&s->rec, now);
	if (t->max_duration_seconds > 0 && now - s->started_mono >= (long long)t->max_duration_seconds * 1000) {
		session_set_exit(s, "max_duration", -1);
		return 1;
	}
	if (quiet >= idle_ms) {
		session_set_exit(s, "idle", -1);
		return 1;
	}
	if (!s->idle_warned && t->idle_warn_seconds > 0 && quiet >= idle_ms - (long long)t->idle_warn_seconds * 1000) {
		s->idle_warned = true;
		frame_held(s);
		frame_idle_warn(&s->out, (int)((idle_ms - quiet + 999) / 1000));
	}
	if (t->heartbeat_seconds > 0 &&
	    now - s->last_client_frame >= (long long)t->heartbeat_seconds * 1000 * HEARTBEAT_MISSES) {
		session_set_exit(s, "heartbeat_timeout", -1);
		return 1;
	}
	return 0;
}

static void start_login_watch(struct session *s)
{
	struct login_watch *w = &s->watch;

	w->cfg = s->cfg;
	w->db = s->dbx;
	w->auth = s->auth;
	w->cookie = s->cookie;
	w->target = &s->target;
	memcpy(w->id_hash, s->id.id_hash, sizeof w->id_hash);
	w->opened_tier = s->id.tier;
	w->next_check_ms = monotonic_ms() + LOGIN_WATCH_PERIOD_MS;
}

/* Sign-out, expiry or a lost tier ends the terminal (shell/login_watch.h). 1 when it must. */
static int check_login(struct session *s)
{
	long long now = monotonic_ms();
	char reason[sizeof s->close_reason];

	if (!login_watch_due(&s->watch, now) ||
	    login_watch_check(&s->watch, now, now_ms() / 1000, reason, sizeof reason) == 0)
		return 0;
	log_json(LOG_INFO, "wsbridge", "login session ended: closing the terminal",
		 json_pack("{s:s, s:s}", "session_id", s->session_id, "reason", reason));
	session_set_exit(s, reason, -1);
	return 1;
}

/* DELETE /api/sessions/{id} sets a request on the registry row (store/shell_control.h),
 * read here every SHELL_CONTROL_POLL_MS. 1 when the terminal must end. */
static int check_control(struct session *s)
{
	long long now = monotonic_ms();

	if (now < s->next_control)
		return 0;
	s->next_control = now + SHELL_CONTROL_POLL_MS;
	if (shell_control_poll_dbx(s->dbx, s->session_id, now_ms(), &s->control) != 0) {
		log_msg(LOG_WARN, "wsbridge", "session %s: cannot read its registry row: %s",
			s->session_id, dbx_errmsg(s->dbx));
		return 0;
	}
	/* The operator is told whenever someone starts or stops watching (docs/frames.md). */
	if (s->control.watchers != s->watchers_told) {
		s->watchers_told = s->control.watchers;
		frame_held(s);
		frame_object(&s->out, json_pack("{s:s, s:i}", "type", "watched", "watchers",
						 s->control.watchers));
	}
	if (!s->control.terminate)
		return 0;
	log_json(LOG_INFO, "wsbridge", "terminal ended from the API",
		 json_pack("{s:s, s:s}", "session_id", s->session_id, "by", s->control.by_sub));
	session_set_exit(s, "terminated", -1);
	return 1;
}

/* Milliseconds until the next timer, at most 1 s (so the timers stay accurate). */
static int next_timeout(struct session *s, long long now)
{
	long long next = now + 1000, b = s->ops->next_tick ? s->ops->next_tick(s) : -1;

	if (b >= 0 && b < next)
		next = b;
	if (s->next_heartbeat > 0 && s->next_heartbeat < next)
		next = s->next_heartbeat; /* (a heartbeat retried after a busy database) */
	return next <= now ? 0 : (int)(next - now);
}

static void main_loop(struct session *s)
{
	struct pollfd fds[3 + SESSION_MAX_UPSTREAM_FDS];

	for (;;) {
		long long now = monotonic_ms();
		size_t pending = out_pending(s);
		/* Queued output waits while it streams (shell/out_batch.h): no POLLOUT meanwhile,
		 * the poll wakes when it is due. */
		long long hold_us = out_batch_wait_us(monotonic_us(), s->last_write_us, pending);
		int n = 0, n_up, rc, timeout = next_timeout(s, now);

		fds[n++] = (struct pollfd){ s->signal_fd, POLLIN, 0 };
		/* Always keep reading the browser, even while output is queued: websocketd blocks
		 * writing our stdin otherwise, and both sides would hang. */
		fds[n++] = (struct pollfd){ s->stdin_eof ? -1 : STDIN_FILENO, POLLIN, 0 };
		fds[n++] = (struct pollfd){ hold_us == 0 ? STDOUT_FILENO : -1, POLLOUT, 0 };
		n_up = s->ops->add_fds(s, fds + n, SESSION_MAX_UPSTREAM_FDS, pending < SESSION_OUT_HIGH_WATER);
		timeout = out_batch_timeout_ms(hold_us, timeout);
		if (poll(fds, (nfds_t)(n + n_up), timeout) < 0 && errno != EINTR) {
			session_fail(s, "E_INTERNAL", false, "poll failed: %s", strerror(errno));
			return;
		}
		if ((fds[0].revents & POLLIN) && read_signal(s))
			return;
		if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			rc = read_client(s);
			if (rc != 0)
				return;
		}
		rc = s->ops->on_events(s, fds + n, n_up);
		if (rc != 0)
			return;
		if (s->ops->tick && s->ops->tick(s, monotonic_ms()) != 0)
			return;
		if (out_batch_wait_us(monotonic_us(), s->last_write_us, out_pending(s)) <= 0) {
			if (frame_held(s) != 0)
				return;
			if (flush_some(s) != 0) {
				session_set_exit(s, "client_closed", -1);
				return;
			}
		}
		if (queue_check(s) != 0 || check_timers(s, monotonic_ms()) || check_login(s) ||
		    check_control(s))
			return;
	}
}

/* The recording starts with the session (after admission, so its registry row exists
 * for as long as the file is young: the retention sweep keeps files of live sessions). A
 * recording that cannot be made is logged and the session goes on without one. */
static void start_recording(struct session *s)
{
	char path[4096], title[512], err[256];

	s->rec.fd = -1;
	if (!s->cfg->recording.enabled)
		return;
	if (s->target.kind == SHELL_NODE)
		snprintf(title, sizeof title, "node shell %s/%s (%s)", s->target.cluster,
			 s->target.node, s->id.email ? s->id.email : s->id.subject);
	else
		snprintf(title, sizeof title, "cluster shell %s (%s)", s->target.cluster,
			 s->id.email ? s->id.email : s->id.subject);
	if (recording_path(s->cfg, s->session_id, path, sizeof path) != 0) {
		log_msg(LOG_ERROR, "wsbridge", "session %s: no recording path", s->session_id);
		return;
	}
	if (recording_open(&s->rec, path, s->cfg->recording.max_bytes, s->cfg->recording.input,
			   title, s->started_wall_ms, s->started_mono, err, sizeof err) != 0)
		log_json(LOG_ERROR, "wsbridge", "session not recorded",
			 json_pack("{s:s, s:s}", "session_id", s->session_id, "error", err));
	else
		recording_resize(&s->rec, s->cols, s->rows, s->started_mono);
}

int session_run(struct session *s)
{
	json_t *close_extra = json_object();

	/* A transcript's text, escaped (up to 6 bytes per byte of nodeShell.transcriptMaxBytes). */
	buf_init(&s->close_raw, SIZE_MAX);
	int started;

	s->started_mono = s->last_activity = s->last_client_frame = monotonic_ms();
	s->next_heartbeat = s->started_mono + SHELL_HEARTBEAT_MS;
	s->started_wall_ms = now_ms();
	start_recording(s);
	if (!s->ops->open_row_after_start)
		write_open_row(s);
	started = s->ops->start(s) == 0;
	/* Provisioning parsed trust stores and JSON by the megabyte, all freed by now: give the
	 * pages back, since this process lives as long as the terminal does. */
	malloc_trim(0);
	if (started && s->ops->open_row_after_start && !s->fail_code)
		write_open_row(s);
	if (started && !s->fail_code && !s->close_reason[0]) {
		send_hello(s);
		observe_open(s, "hello");
		/* The browser learns the heartbeat interval from hello, and pings from then on: a pod
		 * that took longer than three heartbeats to start is no missed heartbeat. */
		s->last_activity = s->last_client_frame = monotonic_ms();
		start_login_watch(s);
		main_loop(s);
	}
	if (!s->close_reason[0])
		session_set_exit(s, s->fail_code ? "error" : "upstream_closed", -1);
	s->ops->teardown(s, close_extra);
	recording_close(&s->rec, monotonic_ms(), close_extra);
	recording_free(&s->rec);
	/* The last bytes are counted before the close row, with a last heartbeat. */
	if (s->admitted)
		record_heartbeat(s, monotonic_ms());
	write_close_row(s, close_extra);
	flush_tally(s);
	json_decref(close_extra);
	buf_free(&s->close_raw);
	frame_held(s);
	if (s->fail_code)
		frame_error(&s->out, s->fail_code, s->fail_message, s->fail_retryable, true);
	else if (s->control.terminate)
		frame_object(&s->out, json_pack("{s:s, s:s, s:i, s:s}", "type", "closed", "reason",
						 "terminated", "exitCode", -1, "terminatedBy",
						 s->control.by_email[0] ? s->control.by_email
									: s->control.by_sub));
	else
		frame_closed(&s->out, s->close_reason, s->exit_code);
	session_flush(s, 2000);
	return s->fail_code ? 1 : 0;
}
