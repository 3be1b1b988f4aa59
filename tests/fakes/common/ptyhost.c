/* ptyhost: runs a command in a real pseudo-terminal for the fakes (the "pod" behind the
 * apiserver fake's exec, the "EC2 host" behind the AWS fake's SSM sessions) and for tests
 * that drive a client (kubectl exec -t) as a person at a terminal would.
 *
 *     ptyhost [--cols N] [--rows N] [--cwd DIR] -- COMMAND [ARG...]
 *
 * Bytes on stdin go to the terminal; what the terminal prints comes out on stdout. Lines
 * "COLS ROWS\n" on file descriptor 3 (when the caller opened it) resize the terminal
 * (TIOCSWINSZ, and SIGWINCH to the command). Closing stdin sends EOF (^D) to the terminal.
 * SIGTERM hangs the command up (SIGHUP), as a closed session does; a second SIGTERM while
 * the command exits changes nothing. The exit status is the command's own (128+N when
 * killed by signal N).
 *
 * When the caller dies (PR_SET_PDEATHSIG delivers SIGHUP) or stops reading stdout, the
 * command is hung up, killed after ORPHAN_GRACE_MS if it is still there, and ptyhost ends
 * as soon as it has reaped it: a fake that crashed leaves no shell spinning behind it.
 *
 *     ptyhost --serve SOCKET
 *
 * The same, many times over, for a caller that cannot afford to fork itself once per
 * terminal (a Node process of a few hundred MB spends ~8 ms of CPU and tens of ms of its
 * event loop in every fork): see ptyhost_serve.c for the protocol on SOCKET.
 *
 * A test helper in C because it runs once per exec: Python's pty module cost ~100 ms of
 * CPU per start, most of what the opens-per-second benchmark measured. Never installed. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ptyhost.h"

#define CTL_FD 3
#define CHUNK 65536
#define CTL_LINE_MAX 64
#define ORPHAN_GRACE_MS 1000

struct buffer {
	unsigned char data[CHUNK];
	size_t off, len;
};

struct host {
	pid_t pid;     /* the command, until reaped */
	int master;
	bool hung_up;  /* EIO on the master: every program holding the terminal closed it */
	int ctl;       /* -1 when not given or closed */
	int sigfd;     /* SIGTERM, SIGHUP (parent gone), SIGCHLD */
	bool stdin_open;
	bool orphaned; /* caller gone: output is dropped, the command is ended */
	long long kill_at_ms; /* when orphaned: SIGKILL time, 0 once sent */
	int status;    /* wait status once reaped */
	bool reaped;
	struct buffer in, out;
	/* framed input (ptyhost_serve.c): stdin carries frames, raw holds what is read */
	bool framed;
	struct buffer raw;
	unsigned char frame_head[PTYHOST_FRAME_HEAD];
	size_t frame_head_len;
	unsigned char frame_type;
	size_t frame_left;
	char ctl_line[CTL_LINE_MAX];
	size_t ctl_len;
	bool ctl_overlong; /* dropping the rest of an overlong line */
};

static void usage(void)
{
	fputs("usage: ptyhost [--cols N] [--rows N] [--cwd DIR] -- COMMAND [ARG...]\n", stderr);
}

/* A terminal dimension: 1..65535 (struct winsize holds unsigned short). */
bool ptyhost_parse_dimension(const char *s, unsigned short *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end != '\0' || v < 1 || v > USHRT_MAX)
		return false;
	*out = (unsigned short)v;
	return true;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	int i = 1;
	o->cols = 80;
	o->rows = 24;
	o->cwd = NULL;
	o->envp = NULL;
	while (i < argc && strcmp(argv[i], "--") != 0) {
		const char *flag = argv[i];
		if (i + 1 >= argc)
			goto fail;
		if (strcmp(flag, "--cols") == 0) {
			if (!ptyhost_parse_dimension(argv[i + 1], &o->cols))
				goto fail;
		} else if (strcmp(flag, "--rows") == 0) {
			if (!ptyhost_parse_dimension(argv[i + 1], &o->rows))
				goto fail;
		} else if (strcmp(flag, "--cwd") == 0) {
			o->cwd = argv[i + 1];
		} else {
			goto fail;
		}
		i += 2;
	}
	if (i >= argc || i + 1 >= argc)
		goto fail;
	o->argv = &argv[i + 1];
	return 0;
fail:
	usage();
	return -1;
}

static long long now_ms(void)
{
	struct timespec ts;
	/* Cannot fail on Linux with a valid pointer; if it did, no grace period could be kept. */
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		abort();
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* In the child, on the terminal: the caller's signal mask back (ours blocks what the
 * signalfd reads), the directory, the command. Never returns. */
static void exec_command(const struct options *o, const sigset_t *caller_mask)
{
	int err = 0;
	if (sigprocmask(SIG_SETMASK, caller_mask, NULL) != 0) {
		err = errno;
		goto fail;
	}
	if (o->cwd && chdir(o->cwd) != 0) {
		err = errno;
		fprintf(stderr, "ptyhost: cannot enter %s: %s\r\n", o->cwd, strerror(err));
		goto fail;
	}
	if (o->envp)
		environ = o->envp; /* execvp searches the command's own PATH */
	execvp(o->argv[0], o->argv);
	err = errno;
	fprintf(stderr, "ptyhost: cannot run %s: %s\r\n", o->argv[0], strerror(err));
fail:
	_exit(err == ENOENT ? 127 : 126);
}

/* Sends sig to the command, or with group to its whole process group (it leads its own
 * session). Only while the command is not reaped: its pid is still ours, never another's. */
static void signal_command(const struct host *h, int sig, bool group)
{
	if (h->reaped)
		return;
	if (!group || kill(-h->pid, sig) != 0)
		(void)kill(h->pid, sig);
}

static void become_orphan(struct host *h)
{
	if (h->orphaned)
		return;
	h->orphaned = true;
	h->out.off = h->out.len = 0;
	h->stdin_open = false;
	signal_command(h, SIGHUP, true);
	h->kill_at_ms = now_ms() + ORPHAN_GRACE_MS;
}

static void reap(struct host *h)
{
	if (h->reaped)
		return;
	pid_t r = waitpid(h->pid, &h->status, WNOHANG);
	if (r == h->pid)
		h->reaped = true;
}

static void read_signals(struct host *h)
{
	struct signalfd_siginfo si;
	while (read(h->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGTERM) {
			/* A hangup, however many times asked (a session may end both because its
			 * pod went and because its stream closed). */
			signal_command(h, SIGHUP, false);
		} else if (si.ssi_signo == SIGHUP) {
			become_orphan(h);
		}
	}
	reap(h);
}

static void apply_size(struct host *h, const char *line)
{
	char cols_s[16], rows_s[16], extra;
	unsigned short cols, rows;
	if (sscanf(line, "%15s %15s %c", cols_s, rows_s, &extra) != 2)
		return;
	if (!ptyhost_parse_dimension(cols_s, &cols) || !ptyhost_parse_dimension(rows_s, &rows))
		return;
	struct winsize ws = { .ws_row = rows, .ws_col = cols };
	if (ioctl(h->master, TIOCSWINSZ, &ws) != 0)
		return;
	signal_command(h, SIGWINCH, false);
}

static void read_ctl(struct host *h)
{
	char chunk[512];
	ssize_t n = read(h->ctl, chunk, sizeof chunk);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		close(h->ctl);
		h->ctl = -1;
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (chunk[i] == '\n') {
			h->ctl_line[h->ctl_len] = '\0';
			if (!h->ctl_overlong && !h->hung_up)
				apply_size(h, h->ctl_line);
			h->ctl_len = 0;
			h->ctl_overlong = false;
		} else if (h->ctl_len + 1 < sizeof h->ctl_line) {
			h->ctl_line[h->ctl_len++] = chunk[i];
		} else {
			h->ctl_overlong = true;
		}
	}
}

static void read_stdin(struct host *h)
{
	struct buffer *into = h->framed ? &h->raw : &h->in;
	ssize_t n = read(STDIN_FILENO, into->data, sizeof into->data);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	into->off = 0;
	if (n <= 0) {
		/* EOF: ^D, which the terminal's line discipline turns into the program's EOF
		 * (framed: after every frame before it). */
		h->stdin_open = false;
		into->len = 0;
		h->in.off = 0;
		h->in.data[0] = 0x04;
		h->in.len = 1;
		return;
	}
	into->len = (size_t)n;
}

/* Framed input: takes frames from raw until a keystroke frame's bytes wait in `in` for
 * the terminal (the next frames wait for them: a resize applies after the keystrokes
 * sent before it, as it was sent). Resizes apply as they complete; unknown frames are
 * skipped. */
static void decode_frames(struct host *h)
{
	while (h->raw.off < h->raw.len && h->in.len == 0) {
		const unsigned char *p = h->raw.data + h->raw.off;
		size_t avail = h->raw.len - h->raw.off, take;
		if (h->frame_left == 0 && h->frame_head_len < PTYHOST_FRAME_HEAD) {
			take = PTYHOST_FRAME_HEAD - h->frame_head_len;
			take = take < avail ? take : avail;
			memcpy(h->frame_head + h->frame_head_len, p, take);
			h->frame_head_len += take;
			h->raw.off += take;
			if (h->frame_head_len < PTYHOST_FRAME_HEAD)
				continue;
			h->frame_type = h->frame_head[0];
			h->frame_left = (size_t)h->frame_head[1] << 24 | (size_t)h->frame_head[2] << 16 |
					(size_t)h->frame_head[3] << 8 | h->frame_head[4];
			h->ctl_len = 0;
			h->ctl_overlong = false;
			if (h->frame_left == 0)
				h->frame_head_len = 0; /* empty: nothing to do */
			continue;
		}
		take = h->frame_left < avail ? h->frame_left : avail;
		if (h->frame_type == PTYHOST_FRAME_INPUT) {
			memcpy(h->in.data, p, take);
			h->in.off = 0;
			h->in.len = take;
		} else if (h->frame_type == PTYHOST_FRAME_RESIZE) {
			for (size_t i = 0; i < take; i++) {
				if (h->ctl_len + 1 < sizeof h->ctl_line)
					h->ctl_line[h->ctl_len++] = (char)p[i];
				else
					h->ctl_overlong = true;
			}
		}
		h->raw.off += take;
		h->frame_left -= take;
		if (h->frame_left == 0) {
			h->frame_head_len = 0;
			if (h->frame_type == PTYHOST_FRAME_RESIZE && !h->ctl_overlong && !h->hung_up) {
				h->ctl_line[h->ctl_len] = '\0';
				apply_size(h, h->ctl_line);
			}
		}
	}
	if (h->raw.off >= h->raw.len)
		h->raw.off = h->raw.len = 0;
}

/* Moves pending bytes from b to fd; returns -1 on a write error other than "not now". */
static int flush(int fd, struct buffer *b)
{
	while (b->off < b->len) {
		ssize_t n = write(fd, b->data + b->off, b->len - b->off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return -1;
		}
		b->off += (size_t)n;
	}
	b->off = b->len = 0;
	return 0;
}

static void read_master(struct host *h)
{
	ssize_t n = read(h->master, h->out.data, sizeof h->out.data);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* EIO: every program holding the terminal has closed it. The master stays open
		 * until we exit: closing it hangs the terminal up, and the kernel's SIGHUP would
		 * kill a command that closed its descriptors but has not exited yet (cat does,
		 * and died of it with status 129 instead of its own 0). */
		h->hung_up = true;
		h->in.off = h->in.len = 0;
		return;
	}
	if (h->orphaned)
		return;
	h->out.off = 0;
	h->out.len = (size_t)n;
}

/* True while there is work: the terminal open or output to deliver, or the command
 * not reaped. An orphan stops as soon as its command is reaped. */
static bool running(const struct host *h)
{
	if (h->orphaned)
		return !h->reaped;
	return !h->hung_up || h->out.len > 0 || !h->reaped;
}

static int relay(struct host *h)
{
	while (running(h)) {
		struct pollfd p[5];
		if (h->framed && !h->hung_up)
			decode_frames(h);
		int n = 0, i_sig, i_master = -1, i_out = -1, i_ctl = -1, i_in = -1;
		bool out_pending = h->out.len > 0, in_pending = h->in.len > 0;
		/* The terminal only when there is something to ask of it: a hung-up master polls
		 * POLLHUP at once, which would spin while stdout is full. */
		short master_events = (short)((out_pending ? 0 : POLLIN) | (in_pending ? POLLOUT : 0));
		p[i_sig = n++] = (struct pollfd){ .fd = h->sigfd, .events = POLLIN };
		if (!h->hung_up && master_events)
			p[i_master = n++] = (struct pollfd){ .fd = h->master, .events = master_events };
		if (out_pending)
			p[i_out = n++] = (struct pollfd){ .fd = STDOUT_FILENO, .events = POLLOUT };
		/* Resizes and keystrokes are taken only once earlier keystrokes are in the
		 * terminal: a size sent before a keystroke applies before that keystroke. */
		if (!h->hung_up && !in_pending) {
			if (h->ctl >= 0)
				p[i_ctl = n++] = (struct pollfd){ .fd = h->ctl, .events = POLLIN };
			if (h->stdin_open && h->raw.len == 0)
				p[i_in = n++] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
		}
		int timeout = -1;
		if (h->orphaned && h->kill_at_ms) {
			long long left = h->kill_at_ms - now_ms();
			timeout = left > 0 ? (int)left : 0;
		}
		if (poll(p, (nfds_t)n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (h->orphaned && h->kill_at_ms && now_ms() >= h->kill_at_ms) {
			signal_command(h, SIGKILL, true);
			h->kill_at_ms = 0;
		}
		if (p[i_sig].revents)
			read_signals(h);
		if (i_master >= 0 && (p[i_master].revents & POLLOUT) && !h->hung_up && flush(h->master, &h->in) != 0)
			h->in.off = h->in.len = 0; /* the terminal is going; its EIO ends the relay */
		if (i_master >= 0 && (p[i_master].revents & (POLLIN | POLLHUP | POLLERR)) && !h->hung_up && !h->out.len)
			read_master(h);
		if (i_out >= 0 && p[i_out].revents && flush(STDOUT_FILENO, &h->out) != 0)
			become_orphan(h); /* nobody reads our output any more */
		if (i_ctl >= 0 && p[i_ctl].revents && h->ctl >= 0)
			read_ctl(h);
		if (i_in >= 0 && p[i_in].revents && h->stdin_open && !h->in.len && !h->raw.len)
			read_stdin(h);
		if (h->hung_up && !h->reaped)
			reap(h);
	}
	return 0;
fail:
	return -1; /* errno is poll's: ptyhost_run reports it */
}

static int exit_status(int status)
{
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

int ptyhost_run(const struct options *o, bool framed)
{
	sigset_t caller_mask, handled;
	struct winsize ws;
	struct host *h = calloc(1, sizeof *h); /* three 64 KiB buffers: off the stack */
	pid_t caller = getppid();
	int out_flags, rc = 1;

	if (!h)
		goto fail;
	h->pid = -1;
	h->framed = framed;
	h->ctl = !framed && fcntl(CTL_FD, F_GETFD) >= 0 ? CTL_FD : -1;
	if (h->ctl >= 0 && fcntl(h->ctl, F_SETFD, FD_CLOEXEC) != 0)
		goto fail;

	/* The caller's death reaches us as SIGHUP, read like every signal from a signalfd
	 * (blocked, so none is lost between here and the poll). */
	if (sigemptyset(&handled) != 0 || sigaddset(&handled, SIGTERM) != 0 ||
	    sigaddset(&handled, SIGHUP) != 0 || sigaddset(&handled, SIGCHLD) != 0)
		goto fail;
	if (sigprocmask(SIG_BLOCK, &handled, &caller_mask) != 0)
		goto fail;
	if (prctl(PR_SET_PDEATHSIG, SIGHUP) != 0)
		goto fail;
	h->sigfd = signalfd(-1, &handled, SFD_NONBLOCK | SFD_CLOEXEC);
	if (h->sigfd < 0)
		goto fail;

	ws = (struct winsize){ .ws_row = o->rows, .ws_col = o->cols };
	h->pid = forkpty(&h->master, NULL, NULL, &ws);
	if (h->pid < 0)
		goto fail;
	if (h->pid == 0)
		exec_command(o, &caller_mask);

	/* Our own writes to a reader that is gone fail with EPIPE instead of killing us (set
	 * after the fork: an ignored SIGPIPE would be inherited by the command). */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		goto fail;
	if (fcntl(h->master, F_SETFD, FD_CLOEXEC) != 0 || fcntl(h->master, F_SETFL, O_NONBLOCK) != 0)
		goto fail;
	out_flags = fcntl(STDOUT_FILENO, F_GETFL);
	if (out_flags < 0 || fcntl(STDOUT_FILENO, F_SETFL, out_flags | O_NONBLOCK) != 0)
		goto fail;
	h->stdin_open = fcntl(STDIN_FILENO, F_GETFD) >= 0;
	if (getppid() != caller)
		become_orphan(h); /* the caller died before PR_SET_PDEATHSIG took */

	if (relay(h) != 0)
		goto fail;
	rc = exit_status(h->status);
	free(h);
	return rc;
fail:
	perror("ptyhost");
	if (h && h->pid > 0) {
		/* The command goes with us: a host that failed leaves nothing running. */
		signal_command(h, SIGKILL, true);
		while (!h->reaped && waitpid(h->pid, &h->status, 0) == h->pid)
			h->reaped = true;
	}
	free(h);
	return rc;
}

int main(int argc, char **argv)
{
	struct options o;

	if (argc == 3 && strcmp(argv[1], "--serve") == 0)
		return ptyhost_serve(argv[2]);
	if (parse_args(argc, argv, &o) != 0)
		return 2;
	return ptyhost_run(&o, false);
}
