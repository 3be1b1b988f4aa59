#include "aws/ssm_guardian.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"
#include "metrics/upstream_tally.h"

/* The pipe carries lines: "creds AKID SECRET TOKEN" (renewed credentials, none of which
 * holds a blank) and "released". End-of-file without "released" means the bridge died. */
#define GUARDIAN_RELEASE "released\n"
#define GUARDIAN_CREDS "creds "
#define GUARDIAN_FD 3
#define GUARDIAN_RESULT_FD 4
#define GUARDIAN_LINE_MAX 8192
#define TERMINATE_ATTEMPTS 4

/* A "creds" line replaces the guardian's credentials; anything else is ignored. */
static void take_creds(char *line, struct aws_credentials *creds)
{
	char *save = NULL, *akid, *secret, *token;
	struct aws_credentials fresh, copy = { 0 };

	if (strncmp(line, GUARDIAN_CREDS, strlen(GUARDIAN_CREDS)) != 0)
		return;
	akid = strtok_r(line + strlen(GUARDIAN_CREDS), " ", &save);
	secret = akid ? strtok_r(NULL, " ", &save) : NULL;
	token = secret ? strtok_r(NULL, " ", &save) : NULL;
	if (!token)
		return;
	fresh = (struct aws_credentials){ akid, secret, token };
	if (aws_credentials_copy(&copy, &fresh) != 0) {
		log_msg(LOG_WARN, "node_shell", "the guardian could not keep renewed credentials");
		return;
	}
	aws_credentials_clear(creds);
	*creds = copy;
}

/* Reads until end-of-file, taking renewed credentials: 1 when the bridge released the
 * guardian first. */
static int released(int fd, struct aws_credentials *creds)
{
	char buf[GUARDIAN_LINE_MAX];
	size_t got = 0;
	int rc = 0;

	for (;;) {
		ssize_t n = read(fd, buf + got, sizeof buf - 1 - got);
		char *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		while ((nl = memchr(buf, '\n', got))) {
			size_t used = (size_t)(nl + 1 - buf);

			*nl = '\0';
			if (strcmp(buf, "released") == 0) {
				rc = 1;
				goto done;
			}
			take_creds(buf, creds);
			memmove(buf, nl + 1, got - used);
			got -= used;
			explicit_bzero(buf + got, used);
		}
		if (got == sizeof buf - 1)
			got = 0; /* no line is this long: drop it */
	}
done:
	explicit_bzero(buf, sizeof buf);
	return rc;
}

static void terminate(const struct ssm_client *c, const char *session_id)
{
	struct aws_error aerr;
	char err[256];

	for (int attempt = 0; attempt < TERMINATE_ATTEMPTS; attempt++) {
		memset(&aerr, 0, sizeof aerr);
		if (ssm_terminate_session(c, session_id, &aerr, err, sizeof err) == 0) {
			log_json(LOG_INFO, "node_shell", "the bridge died: its SSM session was terminated",
				 json_pack("{s:s}", "ssm_session_id", session_id));
			_exit(0);
		}
		/* A throttled or unreachable endpoint gets a few more tries: 1, 2, 4 s. */
		if (attempt + 1 < TERMINATE_ATTEMPTS)
			sleep(1u << attempt);
	}
	log_json(LOG_ERROR, "node_shell", "the bridge died and TerminateSession failed",
		 json_pack("{s:s, s:s}", "ssm_session_id", session_id, "error",
			   aerr.code[0] ? aerr.code : err));
	_exit(1);
}

/* The StartSession answer for the bridge, as one JSON object: the session (its token is a
 * secret, for the bridge alone), or the error; and the calls it took, for the bridge's
 * counters and clock. */
static void report(int fd, int rc, const struct ssm_started_session *st, const struct aws_error *aerr,
		   const char *err, const struct upstream_tally *tally, const struct aws_clock *clock)
{
	json_t *calls = json_array(), *o;
	char *text;

	for (int cls = 0; cls < UPSTREAM_CLASSES; cls++)
		json_array_append_new(calls, json_integer(tally->n[UPSTREAM_SSM][cls]));
	o = rc == 0 ? json_pack("{s:b, s:s, s:s, s:s}", "ok", 1, "session_id", st->session_id,
				"token", st->token_value, "stream_url", st->stream_url)
		    : json_pack("{s:b, s:s, s:s, s:I, s:s}", "ok", 0, "code", aerr->code, "message",
				aerr->message, "status", (json_int_t)aerr->http_status, "err", err);
	if (o) {
		json_object_set_new(o, "calls", calls);
		json_object_set_new(o, "clock_offset", json_integer(clock->offset_s));
		json_object_set_new(o, "clock_corrected", json_boolean(clock->corrected));
	} else {
		json_decref(calls);
	}
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (text && write(fd, text, strlen(text)) < 0) {
		/* The bridge is gone: what follows (end-of-file) terminates the session. */
	}
	if (text) {
		explicit_bzero(text, strlen(text));
		free(text);
	}
	json_decref(o);
	close(fd);
}

static void guardian_main(const struct ssm_client *bridge_client, const char *target,
			  const char *reason)
{
	struct ssm_client c = *bridge_client;
	struct ssm_started_session started = { 0 };
	struct aws_credentials creds = { 0 };
	struct upstream_tally tally = { 0 };
	struct aws_clock clock = { 0 };
	struct aws_error aerr = { 0 };
	char err[512] = "";
	int rc;

	if (aws_credentials_copy(&creds, bridge_client->creds) != 0)
		_exit(1);
	if (bridge_client->clock)
		clock = *bridge_client->clock;
	c.creds = &creds;
	c.clock = &clock;
	c.tally = &tally;
	/* The call is made here, not in the bridge: a bridge killed while it is under way
	 * leaves the session to this process, which learns its id all the same. */
	rc = ssm_start_session(&c, target, NULL, reason, &started, &aerr, err, sizeof err);
	report(GUARDIAN_RESULT_FD, rc, &started, &aerr, err, &tally, &clock);
	if (rc != 0)
		_exit(0);
	if (started.token_value)
		explicit_bzero(started.token_value, strlen(started.token_value));
	malloc_trim(0);
	if (released(GUARDIAN_FD, &creds))
		_exit(0);
	terminate(&c, started.session_id);
}

/* In the first child: a session of its own, then the guardian as its child, so that it is
 * reparented at once (no zombie under the bridge, no process group shared with it). */
static void detach_and_guard(int control_fd, int result_fd, const struct ssm_client *c,
			     const char *target, const char *reason)
{
	int null_fd;
	pid_t pid;

	if (setsid() < 0)
		_exit(1);
	pid = fork();
	if (pid != 0)
		_exit(pid < 0 ? 1 : 0);
	/* websocketd sees the end of the terminal when the bridge's stdout closes: the
	 * guardian holds none of the bridge's descriptors but its pipes, and stderr only where
	 * the log lines go there (else websocketd would keep reading it after the bridge). */
	null_fd = open("/dev/null", O_RDWR);
	if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 || dup2(null_fd, STDOUT_FILENO) < 0 ||
	    (!log_sink_is_stderr() && dup2(null_fd, STDERR_FILENO) < 0))
		_exit(1);
	/* Onto 3 and 4, in an order that cannot overwrite the other one first. */
	if (result_fd == GUARDIAN_FD) {
		result_fd = dup(result_fd);
		if (result_fd < 0)
			_exit(1);
	}
	if (dup2(control_fd, GUARDIAN_FD) != GUARDIAN_FD ||
	    dup2(result_fd, GUARDIAN_RESULT_FD) != GUARDIAN_RESULT_FD)
		_exit(1);
	if (close_range(GUARDIAN_RESULT_FD + 1, ~0U, 0) != 0)
		_exit(1);
	log_sink_reopen();
	guardian_main(c, target, reason);
}

/* The guardian's answer: the session, or the error, as ssm_start_session gives them. */
static int read_report(int fd, const struct ssm_client *c, struct ssm_started_session *out,
		       struct aws_error *aerr, char *err, size_t errlen)
{
	char buf[65536];
	size_t got = 0;
	json_t *o, *calls, *v;
	size_t i;
	int rc = -1;

	for (;;) {
		ssize_t n = read(fd, buf + got, sizeof buf - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || (got += (size_t)n) == sizeof buf - 1)
			break;
	}
	o = json_loadb(buf, got, 0, NULL);
	/* The token is in what was read; wiping the rest would only make 64 KiB of the
	 * bridge's stack resident for its life. */
	explicit_bzero(buf, got);
	if (!o) {
		snprintf(err, errlen, "the session's guardian gave no StartSession answer");
		return -1;
	}
	calls = json_object_get(o, "calls");
	json_array_foreach(calls, i, v)
		if (c->tally && i < UPSTREAM_CLASSES)
			c->tally->n[UPSTREAM_SSM][i] += json_integer_value(v);
	if (c->clock && json_is_true(json_object_get(o, "clock_corrected"))) {
		c->clock->offset_s = (long)json_integer_value(json_object_get(o, "clock_offset"));
		c->clock->corrected = true;
	}
	if (json_is_true(json_object_get(o, "ok"))) {
		const char *id = json_string_value(json_object_get(o, "session_id"));
		const char *token = json_string_value(json_object_get(o, "token"));
		const char *url = json_string_value(json_object_get(o, "stream_url"));

		if (id && token && url && (out->session_id = strdup(id)) &&
		    (out->token_value = strdup(token)) && (out->stream_url = strdup(url)))
			rc = 0;
		else
			snprintf(err, errlen, "the session's guardian gave an incomplete answer");
		if (token)
			explicit_bzero((char *)token, strlen(token));
	} else {
		aws_error_set(aerr, json_string_value(json_object_get(o, "code")),
			      json_string_value(json_object_get(o, "message")),
			      (long)json_integer_value(json_object_get(o, "status")));
		snprintf(err, errlen, "%s", json_string_value(json_object_get(o, "err")) ?
						    json_string_value(json_object_get(o, "err")) : "");
	}
	if (rc != 0)
		ssm_started_session_free(out);
	json_decref(o);
	return rc;
}

int ssm_guardian_start_session(struct ssm_guardian *g, const struct ssm_client *c,
			       const char *target, const char *reason,
			       struct ssm_started_session *out, struct aws_error *aerr, char *err,
			       size_t errlen)
{
	int control[2] = { -1, -1 }, result[2] = { -1, -1 }, status, rc;
	pid_t pid;

	g->fd = -1;
	memset(out, 0, sizeof *out);
	if (pipe2(control, O_CLOEXEC) != 0 || pipe2(result, O_CLOEXEC) != 0)
		goto unguarded;
	pid = fork();
	if (pid == 0) {
		close(control[1]);
		close(result[0]);
		detach_and_guard(control[0], result[1], c, target, reason);
	}
	close(control[0]);
	close(result[1]);
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		close(control[1]);
		close(result[0]);
		goto unguarded_logged;
	}
	rc = read_report(result[0], c, out, aerr, err, errlen);
	close(result[0]);
	if (rc == 0)
		g->fd = control[1];
	else
		close(control[1]); /* no session: the guardian has exited already */
	return rc;
unguarded:
	if (control[0] >= 0) {
		close(control[0]);
		close(control[1]);
	}
unguarded_logged:
	/* The session is still opened, without a guardian. */
	log_msg(LOG_WARN, "node_shell", "no guardian for the SSM session: %s", strerror(errno));
	return ssm_start_session(c, target, NULL, reason, out, aerr, err, errlen);
}

static void send_line(struct ssm_guardian *g, const char *line, size_t len)
{
	if (g->fd >= 0 && write(g->fd, line, len) != (ssize_t)len) {
		/* A short write to a live guardian (pipes take 4 KiB at once) or a dead one: the
		 * guardian keeps what it had; TerminateSession may then fail, and says so. */
	}
}

void ssm_guardian_update(struct ssm_guardian *g, const struct aws_credentials *c)
{
	char *line = NULL;
	int len;

	if (g->fd < 0 || !c->access_key_id || !c->secret_access_key || !c->session_token ||
	    strpbrk(c->access_key_id, " \n") || strpbrk(c->secret_access_key, " \n") ||
	    strpbrk(c->session_token, " \n"))
		return;
	len = asprintf(&line, GUARDIAN_CREDS "%s %s %s\n", c->access_key_id, c->secret_access_key,
		       c->session_token);
	if (len < 0)
		return;
	send_line(g, line, (size_t)len);
	explicit_bzero(line, (size_t)len);
	free(line);
}

static void finish(struct ssm_guardian *g, const char *word)
{
	if (g->fd < 0)
		return;
	if (word)
		send_line(g, word, strlen(word));
	close(g->fd);
	g->fd = -1;
}

void ssm_guardian_release(struct ssm_guardian *g)
{
	finish(g, GUARDIAN_RELEASE);
}

void ssm_guardian_abandon(struct ssm_guardian *g)
{
	finish(g, NULL);
}
