/* periscope-agent: runs inside a cluster that periscope cannot dial, and dials out
 * (docs/agent.md). It registers once with a one-time token (agent/agent_state.h), then
 * keeps one OpenSSH connection to periscope's tunnel path, over a WebSocket through the
 * web server (this same program is ssh's ProxyCommand: `periscope-agent connect URL`),
 * holding a remote forward of its tunnel port to the cluster's apiserver. It reconnects
 * after any end with a jittered backoff, 1 s doubling to 30 s, back to 1 s once a
 * connection has lasted 30 s.
 *
 *   periscope-agent [run]                 environment: see agent/agent_state.c
 *   periscope-agent connect URL [CA_FILE] the ProxyCommand */
#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/agent_state.h"
#include "agent/ws_pipe.h"
#include "core/encoding.h"
#include "core/log.h"
#include "core/timeutil.h"

#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 30000
#define STABLE_MS 30000
#define SSH_ARGS_MAX 48

struct ssh_cmd {
	char *argv[SSH_ARGS_MAX];
	char store[16384];
	size_t used, argc;
};

static int add(struct ssh_cmd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int add(struct ssh_cmd *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (c->argc + 1 >= SSH_ARGS_MAX)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(c->store + c->used, sizeof c->store - c->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof c->store - c->used)
		return -1;
	c->argv[c->argc++] = c->store + c->used;
	c->argv[c->argc] = NULL;
	c->used += (size_t)n + 1;
	return 0;
}

/* The WebSocket URL of the tunnel: the server's URL with ws(s) and the tunnel path. */
static int tunnel_url(const struct agent_env *e, const char *path, char *out, size_t len)
{
	const char *rest;
	const char *scheme;

	if (strncmp(e->server_url, "https://", 8) == 0) {
		scheme = "wss://";
		rest = e->server_url + 8;
	} else if (strncmp(e->server_url, "http://", 7) == 0) {
		scheme = "ws://";
		rest = e->server_url + 7;
	} else {
		return -1;
	}
	return snprintf(out, len, "%s%.*s%s", scheme, (int)strcspn(rest, "/"), rest, path) <
			       (int)len ? 0 : -1;
}

/* ssh -N with the one remote forward; nothing from the system's or a user's ssh config. */
static int ssh_command(const struct agent_env *e, const struct agent_registration_state *st,
		       const char *self, struct ssh_cmd *c)
{
	char url[2048];

	c->used = c->argc = 0;
	if (tunnel_url(e, st->tunnel_path, url, sizeof url) != 0)
		return -1;
	if (add(c, "%s", e->ssh) || add(c, "-F") || add(c, "/dev/null") || add(c, "-N") ||
	    add(c, "-T") || add(c, "-i") || add(c, "%s/id_ed25519", e->state_dir) ||
	    add(c, "-o") || add(c, "IdentitiesOnly=yes") || add(c, "-o") || add(c, "BatchMode=yes") ||
	    add(c, "-o") || add(c, "ExitOnForwardFailure=yes") ||
	    add(c, "-o") || add(c, "ServerAliveInterval=15") ||
	    add(c, "-o") || add(c, "ServerAliveCountMax=3") ||
	    add(c, "-o") || add(c, "StrictHostKeyChecking=yes") ||
	    add(c, "-o") || add(c, "UserKnownHostsFile=%s/known_hosts", e->state_dir) ||
	    add(c, "-o") || add(c, "GlobalKnownHostsFile=/dev/null") ||
	    add(c, "-o") || add(c, "HostKeyAlias=periscope-tunnel") ||
	    add(c, "-o") || add(c, "LogLevel=ERROR") ||
	    add(c, "-o") || add(c, "ProxyCommand=%s connect %s%s%s", self, url,
			      e->server_ca ? " " : "", e->server_ca ? e->server_ca : "") ||
	    add(c, "-R") || add(c, "127.0.0.1:%d:%s", st->tunnel_port, e->apiserver) ||
	    add(c, "%s@periscope-tunnel", st->ssh_user))
		return -1;
	return 0;
}

/* Between min and max ms, uniformly: agents restarted together do not come back together. */
static long long jitter(long long max)
{
	unsigned int r = 0;

	if (random_bytes(&r, sizeof r) != 0)
		return max;
	return max / 2 + (long long)(r % (unsigned int)(max / 2 + 1));
}

/* Waits ms for a signal; 1 when one asked to stop. */
static int pause_ms(int sig_fd, long long ms)
{
	long long until = monotonic_ms() + ms;

	for (long long now = monotonic_ms(); now < until; now = monotonic_ms()) {
		struct pollfd p = { sig_fd, POLLIN, 0 };
		struct signalfd_siginfo si;
		if (poll(&p, 1, (int)(until - now)) > 0 &&
		    read(sig_fd, &si, sizeof si) == (ssize_t)sizeof si && si.ssi_signo != SIGCHLD)
			return 1;
	}
	return 0;
}

/* Runs ssh until it ends (0) or a signal asks to stop (1, ssh is ended first). */
static int run_ssh(struct ssh_cmd *c, int sig_fd)
{
	int status = 0, stop = 0;
	pid_t pid = fork();

	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv(c->argv[0], c->argv);
		_exit(127);
	}
	if (pid < 0)
		return 0;
	for (;;) {
		struct pollfd p = { sig_fd, POLLIN, 0 };
		struct signalfd_siginfo si;
		pid_t done = waitpid(pid, &status, WNOHANG);

		if (done == pid)
			break;
		if (poll(&p, 1, 1000) > 0 && read(sig_fd, &si, sizeof si) == (ssize_t)sizeof si &&
		    si.ssi_signo != SIGCHLD) {
			stop = 1;
			kill(pid, SIGTERM);
		}
	}
	if (!stop)
		log_json(LOG_WARN, "agent", "the tunnel ended",
			 json_pack("{s:i}", "ssh_status", WIFEXITED(status) ? WEXITSTATUS(status) : -1));
	return stop;
}

static int run(void)
{
	struct agent_env e;
	struct agent_registration_state st;
	struct ssh_cmd cmd;
	char err[1024], self[4096];
	long long backoff = BACKOFF_MIN_MS;
	ssize_t n;
	sigset_t set;
	int sig_fd, refused = 0;

	if (agent_env_load(&e, err, sizeof err) != 0) {
		log_msg(LOG_ERROR, "agent", "%s", err);
		return 2;
	}
	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0) {
		log_msg(LOG_ERROR, "agent", "cannot find its own program file");
		return 2;
	}
	self[n] = '\0';
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0 || (sig_fd = signalfd(-1, &set, SFD_CLOEXEC)) < 0)
		return 2;
	for (;;) {
		long long started;

		if (agent_state_register(&e, &st, &refused, err, sizeof err) != 0) {
			log_msg(LOG_ERROR, "agent", "%s", err);
			if (refused)
				return 3;
		} else if (ssh_command(&e, &st, self, &cmd) != 0) {
			log_msg(LOG_ERROR, "agent", "PERISCOPE_URL must be an http(s) URL");
			return 2;
		} else {
			log_json(LOG_INFO, "agent", "connecting",
				 json_pack("{s:s, s:i}", "cluster", st.cluster, "tunnel_port",
					   st.tunnel_port));
			started = monotonic_ms();
			if (run_ssh(&cmd, sig_fd))
				return 0;
			if (monotonic_ms() - started >= STABLE_MS)
				backoff = BACKOFF_MIN_MS;
		}
		if (pause_ms(sig_fd, jitter(backoff)))
			return 0;
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
}

int main(int argc, char **argv)
{
	int rc;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 3 && strcmp(argv[1], "connect") == 0)
		rc = ws_pipe_run(argv[2], argc >= 4 ? argv[3] : NULL);
	else if (argc == 1 || (argc == 2 && strcmp(argv[1], "run") == 0))
		rc = run();
	else {
		fprintf(stderr, "usage: periscope-agent [run] | periscope-agent connect URL [CA_FILE]\n");
		rc = 2;
	}
	curl_global_cleanup();
	return rc;
}
