/* The sockets periscope.fcgi listens on, and how a worker waits on them.
 *
 * One socket is the usual case (lighttpd's Unix socket, or one TCP address): a worker
 * blocks in libfcgi's accept() as before. Apache asks for two: its terminal gate
 * (mod_authnz_fcgi) speaks TCP only, while mod_proxy_fcgi, which carries every API
 * request, can use a Unix socket, whose connect/accept/close cost both processes far less
 * than loopback TCP's handshake and teardown (docs/HACKING.md "Benchmarks"). With more
 * than one, each worker waits on all of them in an epoll set of its own, registered with
 * EPOLLEXCLUSIVE so that a connection wakes one idle worker, not all of them. */
#ifndef PERISCOPE_FCGI_LISTENERS_H
#define PERISCOPE_FCGI_LISTENERS_H

#include <fcgiapp.h>
#include <stddef.h>

#define LISTENERS_MAX 4

struct listeners {
	int fds[LISTENERS_MAX];
	size_t count;
};

/* specs: --socket values (a Unix socket path, or HOST:PORT), n of them. Without any, the
 * sockets systemd passes (LISTEN_FDS, all of them), else fd 0. 0, or -1 with the reason in
 * err. (A socket that cannot be bound ends the process inside libfcgi, with errno as its
 * exit status and perror's line on stderr.) */
int listeners_open(struct listeners *l, const char *const *specs, size_t n, char *err,
		   size_t errlen);

/* Wakes every worker waiting on them (at shutdown): each wait then ends. */
void listeners_shutdown(const struct listeners *l);

/* One worker's wait: an FCGX_Request per socket, and its epoll set when there are several. */
struct listener_wait {
	const struct listeners *l;
	FCGX_Request reqs[LISTENERS_MAX];
	size_t inited;
	int epfd;
};

int listener_wait_init(struct listener_wait *w, const struct listeners *l);
/* The next accepted request, NULL once the sockets were shut down (or failed). */
FCGX_Request *listener_wait_accept(struct listener_wait *w);
void listener_wait_free(struct listener_wait *w);

#endif
