/* ptyhost --serve SOCKET: terminals for a caller that should not fork itself per terminal.
 *
 * The caller starts one server. It listens on SOCKET (a Unix socket inside a directory
 * only its user can enter), prints "ready\n" on stdout, and forks one host per connection;
 * forking this small process costs a fraction of a millisecond where a Node process of a
 * few hundred MB spends ~8 ms of CPU and its event loop stalls for tens of ms.
 *
 * A connection, caller to host: a 4-byte big-endian length, then that many bytes of
 * NUL-terminated fields: ID (the caller's name for it: [A-Za-z0-9_-], at most 64), COLS,
 * ROWS, CWD ("" for none), ARGC, ARGC arguments, ENVC, ENVC "NAME=value" strings. Then
 * frames (ptyhost.h): keystrokes and resizes, in the order they were sent; shutting down
 * the write side sends EOF (^D). Host to caller: the terminal's output, raw, until the
 * host ends.
 *
 * On stdout, besides "ready": "start ID PID\n" once a host has read its header (each
 * host writes that line itself: one write of less than PIPE_BUF, never mixed with
 * another's), and "exit PID CODE SIGNAL\n" once the server has reaped it (CODE the
 * command's status as ptyhost's own exit status, or SIGNAL the signal that killed the
 * host, else 0). The caller signals a host by its pid, as it would a child of its own:
 * SIGTERM hangs the command up, SIGKILL ends the host.
 *
 * The server ends when stdin ends or its caller dies (PR_SET_PDEATHSIG); each host then
 * ends its command as a host whose caller died does (ptyhost.c, become_orphan). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ptyhost.h"

#define HEADER_MAX (256 * 1024)
#define FIELD_MAX 4096 /* arguments and environment entries, each */
#define ID_MAX 64

/* Reads exactly len bytes (blocking); -1 on EOF or error. */
static int read_full(int fd, void *buf, size_t len)
{
	unsigned char *p = buf;
	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

struct header {
	char *text;           /* the fields, NUL-terminated each */
	size_t len, pos;
	char **argv, **envp;  /* NULL-terminated, pointing into text */
};

/* The next NUL-terminated field, or NULL when the header ends first. */
static const char *next_field(struct header *hd)
{
	const char *f = hd->text + hd->pos;
	const char *nul = memchr(f, '\0', hd->len - hd->pos);
	if (!nul || (size_t)(nul - f) > FIELD_MAX)
		return NULL;
	hd->pos += (size_t)(nul - f) + 1;
	return f;
}

/* A count of fields: 0..n_max. */
static bool parse_count(const char *s, size_t n_max, size_t *out)
{
	char *end;
	unsigned long v;
	if (!s || !*s)
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end != '\0' || v > n_max)
		return false;
	*out = v;
	return true;
}

/* A list of n fields into a NULL-terminated array. */
static char **field_list(struct header *hd, size_t n)
{
	char **list = calloc(n + 1, sizeof *list);
	if (!list)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (!(list[i] = (char *)next_field(hd))) {
			free(list);
			return NULL;
		}
	}
	return list;
}

static bool valid_id(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > ID_MAX)
		return false;
	return strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/* The connection's header into o; id points into hd. 0, or -1 with a message on stderr. */
static int read_header(int fd, struct header *hd, struct options *o, const char **id)
{
	unsigned char len_be[4];
	const char *cwd, *cols, *rows;
	size_t argc, envc;

	if (read_full(fd, len_be, sizeof len_be) != 0)
		goto fail;
	hd->len = (size_t)len_be[0] << 24 | (size_t)len_be[1] << 16 | (size_t)len_be[2] << 8 | len_be[3];
	if (hd->len == 0 || hd->len > HEADER_MAX || !(hd->text = malloc(hd->len)))
		goto fail;
	if (read_full(fd, hd->text, hd->len) != 0)
		goto fail;
	if (!(*id = next_field(hd)) || !valid_id(*id) || !(cols = next_field(hd)) || !(rows = next_field(hd)) ||
	    !(cwd = next_field(hd)))
		goto fail;
	if (!ptyhost_parse_dimension(cols, &o->cols) || !ptyhost_parse_dimension(rows, &o->rows))
		goto fail;
	o->cwd = *cwd ? cwd : NULL;
	if (!parse_count(next_field(hd), HEADER_MAX / 2, &argc) || argc == 0 || !(hd->argv = field_list(hd, argc)))
		goto fail;
	if (!parse_count(next_field(hd), HEADER_MAX / 2, &envc) || !(hd->envp = field_list(hd, envc)))
		goto fail;
	if (hd->pos != hd->len)
		goto fail;
	o->argv = hd->argv;
	o->envp = hd->envp;
	return 0;
fail:
	fputs("ptyhost: a session's header is malformed or cut short\n", stderr);
	return -1;
}

/* In the forked host: the connection becomes stdin and stdout, the header says what to
 * run, "start ID PID" tells the caller which pid is this session's. Returns the exit
 * status for the host process. */
static int host_connection(int conn, int report)
{
	struct header hd = { 0 };
	struct options o = { 0 };
	const char *id = NULL;
	char line[128];
	int rc = 1, len;

	if (read_header(conn, &hd, &o, &id) != 0)
		goto done;
	len = snprintf(line, sizeof line, "start %s %ld\n", id, (long)getpid());
	if (len < 0 || (size_t)len >= sizeof line || write(report, line, (size_t)len) != len)
		goto done;
	if (dup2(conn, STDIN_FILENO) < 0 || dup2(conn, STDOUT_FILENO) < 0)
		goto done;
	/* Only stdin and stdout hold the connection from here: the host's EOF and its end are
	 * the caller's to see, with no third descriptor keeping the socket open. */
	if (conn > STDOUT_FILENO && close(conn) != 0)
		goto done;
	rc = ptyhost_run(&o, true);
done:
	free(hd.argv);
	free(hd.envp);
	free(hd.text);
	return rc;
}

/* Reports every host that ended. */
static void reap_hosts(void)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		int code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
		int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
		if (dprintf(STDOUT_FILENO, "exit %ld %d %d\n", (long)pid, code, sig) < 0)
			break;
	}
}

static int listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = -1;

	if (strlen(path) >= sizeof sa.sun_path) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, SOMAXCONN) != 0)
		goto fail;
	return fd;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

/* The socket and its directory go with the server. */
static void remove_socket(const char *path)
{
	char dir[PATH_MAX];
	(void)unlink(path);
	if (snprintf(dir, sizeof dir, "%s", path) < (int)sizeof dir)
		(void)rmdir(dirname(dir));
}

int ptyhost_serve(const char *path)
{
	sigset_t caller_mask, handled;
	int lfd = -1, sfd = -1, rc = 1;
	pid_t caller = getppid();

	sigemptyset(&handled);
	sigaddset(&handled, SIGTERM);
	sigaddset(&handled, SIGHUP);
	sigaddset(&handled, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &handled, &caller_mask) != 0 || prctl(PR_SET_PDEATHSIG, SIGHUP) != 0)
		goto fail;
	/* A line to a caller that died fails with EPIPE instead of killing us before we
	 * remove the socket (each host sets SIGPIPE back first: its command must not
	 * inherit an ignored SIGPIPE). */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		goto fail;
	if ((sfd = signalfd(-1, &handled, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		goto fail;
	if ((lfd = listen_on(path)) < 0)
		goto fail;
	if (getppid() != caller || dprintf(STDOUT_FILENO, "ready\n") < 0)
		goto fail;
	for (;;) {
		struct pollfd p[3] = {
			{ .fd = lfd, .events = POLLIN }, { .fd = sfd, .events = POLLIN }, { .fd = STDIN_FILENO, .events = POLLIN },
		};
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (p[1].revents) {
			struct signalfd_siginfo si;
			bool quit = false;
			while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si)
				quit |= si.ssi_signo != SIGCHLD;
			if (!quit)
				reap_hosts();
			if (quit)
				break;
		}
		if (p[2].revents) {
			char drop[256];
			ssize_t n = read(STDIN_FILENO, drop, sizeof drop);
			if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
				break; /* the caller is gone or done */
		}
		if (p[0].revents) {
			int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			pid_t pid;
			if (conn < 0)
				continue; /* the caller gave up on it */
			pid = fork();
			if (pid == 0) {
				close(lfd);
				close(sfd);
				if (sigprocmask(SIG_SETMASK, &caller_mask, NULL) != 0 || signal(SIGPIPE, SIG_DFL) == SIG_ERR)
					_exit(1);
				/* stdout (the caller's line pipe) is kept for "start"; stdin is the
				 * connection from here on. */
				_exit(host_connection(conn, STDOUT_FILENO));
			}
			if (pid < 0)
				perror("ptyhost --serve: fork"); /* the caller sees the connection end unstarted */
			(void)close(conn); /* the host has its own copy; ours only kept the socket open */
		}
	}
	rc = 0;
fail:
	if (rc != 0)
		perror("ptyhost --serve");
	if (lfd >= 0) {
		close(lfd);
		remove_socket(path);
	}
	if (sfd >= 0)
		close(sfd);
	return rc;
}
