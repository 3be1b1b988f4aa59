#include "aws/ssm_guardian.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"

#define GUARDIAN_RELEASE "released\n"
#define GUARDIAN_FD 3
#define TERMINATE_ATTEMPTS 4

/* Reads until end-of-file: 1 when the bridge released the guardian first. */
static int released(int fd)
{
	char buf[sizeof GUARDIAN_RELEASE];
	size_t got = 0;

	for (;;) {
		ssize_t n = read(fd, buf + got, sizeof buf - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == sizeof buf - 1)
			break;
	}
	buf[got] = '\0';
	return strcmp(buf, GUARDIAN_RELEASE) == 0;
}

static void guardian_main(const struct ssm_client *c, const char *session_id)
{
	struct aws_error aerr;
	char err[256];

	if (released(GUARDIAN_FD))
		_exit(0);
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
	 * guardian holds none of the bridge's descriptors but the pipe and stderr. */
	null_fd = open("/dev/null", O_RDWR);
	if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 || dup2(null_fd, STDOUT_FILENO) < 0 ||
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

static void finish(struct ssm_guardian *g, const char *word)
{
	if (g->fd < 0)
		return;
	if (word && write(g->fd, word, strlen(word)) != (ssize_t)strlen(word)) {
		/* the guardian then sees end-of-file alone and terminates: the safe side */
	}
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
