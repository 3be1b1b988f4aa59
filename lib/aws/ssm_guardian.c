#include "aws/ssm_guardian.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"

/* The pipe carries lines: "creds AKID SECRET TOKEN" (renewed credentials, none of which
 * holds a blank) and "released". End-of-file without "released" means the bridge died. */
#define GUARDIAN_RELEASE "released\n"
#define GUARDIAN_CREDS "creds "
#define GUARDIAN_FD 3
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

static void guardian_main(const struct ssm_client *bridge_client, const char *session_id)
{
	struct ssm_client c = *bridge_client;
	struct aws_credentials creds = { 0 };
	struct aws_error aerr;
	char err[256];

	if (aws_credentials_copy(&creds, bridge_client->creds) != 0)
		_exit(1);
	c.creds = &creds;
	if (released(GUARDIAN_FD, &creds))
		_exit(0);
	for (int attempt = 0; attempt < TERMINATE_ATTEMPTS; attempt++) {
		memset(&aerr, 0, sizeof aerr);
		if (ssm_terminate_session(&c, session_id, &aerr, err, sizeof err) == 0) {
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

/* In the first child: a session of its own, then the guardian as its child, so that it is
 * reparented at once (no zombie under the bridge, no process group shared with it). */
static void detach_and_guard(int rfd, const struct ssm_client *c, const char *session_id)
{
	int null_fd;
	pid_t pid;

	if (setsid() < 0)
		_exit(1);
	pid = fork();
	if (pid != 0)
		_exit(pid < 0 ? 1 : 0);
	/* websocketd sees the end of the terminal when the bridge's stdout closes: the
	 * guardian holds none of the bridge's descriptors but the pipe, and stderr only where
	 * the log lines go there (else websocketd would keep reading it after the bridge). */
	null_fd = open("/dev/null", O_RDWR);
	if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 || dup2(null_fd, STDOUT_FILENO) < 0 ||
	    (!log_sink_is_stderr() && dup2(null_fd, STDERR_FILENO) < 0) ||
	    dup2(rfd, GUARDIAN_FD) != GUARDIAN_FD)
		_exit(1);
	if (close_range(GUARDIAN_FD + 1, ~0U, 0) != 0)
		_exit(1);
	log_sink_reopen();
	guardian_main(c, session_id);
}

int ssm_guardian_start(struct ssm_guardian *g, const struct ssm_client *c, const char *session_id,
		       char *err, size_t errlen)
{
	int p[2], status;
	pid_t pid;

	g->fd = -1;
	if (pipe2(p, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid == 0)
		detach_and_guard(p[0], c, session_id);
	close(p[0]);
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		snprintf(err, errlen, "cannot start the session's guardian: %s",
			 pid < 0 ? strerror(errno) : "its first child failed");
		close(p[1]);
		return -1;
	}
	g->fd = p[1];
	return 0;
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
