#include "listeners.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define SD_LISTEN_FDS_START 3

int listeners_open(struct listeners *l, const char *const *specs, size_t n, char *err,
		   size_t errlen)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	long passed;

	memset(l, 0, sizeof *l);
	if (n > LISTENERS_MAX) {
		snprintf(err, errlen, "at most %d sockets (--socket given %zu times)", LISTENERS_MAX, n);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		int fd = FCGX_OpenSocket(specs[i], 128);

		if (fd < 0) {
			snprintf(err, errlen, "cannot listen on %s", specs[i]);
			while (l->count > 0)
				close(l->fds[--l->count]);
			return -1;
		}
		l->fds[l->count++] = fd;
	}
	if (n > 0)
		return 0;
	/* systemd socket activation (sd_listen_fds(3)): every socket of the unit, in order. */
	passed = pid && fds && atol(pid) == (long)getpid() ? atol(fds) : 0;
	if (passed > LISTENERS_MAX) {
		snprintf(err, errlen, "at most %d sockets (systemd passed %ld)", LISTENERS_MAX, passed);
		return -1;
	}
	for (long i = 0; i < passed; i++)
		l->fds[l->count++] = SD_LISTEN_FDS_START + (int)i;
	if (l->count == 0)
		l->fds[l->count++] = 0; /* FCGI_LISTENSOCK_FILENO: spawn-fcgi, lighttpd bin-path */
	return 0;
}

void listeners_shutdown(const struct listeners *l)
{
	for (size_t i = 0; i < l->count; i++)
		shutdown(l->fds[i], SHUT_RDWR);
}

/* Several sockets: each is non-blocking, since a worker woken for a connection another
 * worker took meanwhile must not sit in accept() while the other socket has one waiting. */
static int add_to_epoll(int epfd, int fd, size_t index)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.u64 = index };
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
		return -1;
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

int listener_wait_init(struct listener_wait *w, const struct listeners *l)
{
	memset(w, 0, sizeof *w);
	w->l = l;
	w->epfd = -1;
	for (; w->inited < l->count; w->inited++)
		if (FCGX_InitRequest(&w->reqs[w->inited], l->fds[w->inited], 0) != 0)
			goto fail;
	if (l->count == 1)
		return 0;
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epfd < 0)
		goto fail;
	for (size_t i = 0; i < l->count; i++)
		if (add_to_epoll(w->epfd, l->fds[i], i) != 0)
			goto fail;
	return 0;
fail:
	listener_wait_free(w);
	return -1;
}

FCGX_Request *listener_wait_accept(struct listener_wait *w)
{
	struct epoll_event ev;
	int rc;

	if (w->epfd < 0) /* one socket: libfcgi's blocking accept, as it always was */
		return FCGX_Accept_r(&w->reqs[0]) >= 0 ? &w->reqs[0] : NULL;
	for (;;) {
		rc = epoll_wait(w->epfd, &ev, 1, -1);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc != 1 || ev.data.u64 >= w->l->count || (ev.events & (EPOLLHUP | EPOLLERR)))
			return NULL; /* shut down (listeners_shutdown), or broken */
		/* libfcgi answers -errno, or -9999 when it gave up without one (shutdown pending). */
		errno = 0;
		rc = FCGX_Accept_r(&w->reqs[ev.data.u64]);
		if (rc >= 0)
			return &w->reqs[ev.data.u64];
		/* Another worker took it first; libfcgi retries the transient errors itself. */
		if (rc != -EAGAIN && rc != -EINTR)
			return NULL;
	}
}

void listener_wait_free(struct listener_wait *w)
{
	for (size_t i = 0; i < w->inited; i++)
		FCGX_Free(&w->reqs[i], 1);
	w->inited = 0;
	if (w->epfd >= 0)
		close(w->epfd);
	w->epfd = -1;
}
