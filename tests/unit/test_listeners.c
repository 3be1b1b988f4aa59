/* fcgi/listeners.c: periscope.fcgi on several sockets (Apache's API over a Unix socket, its
 * terminal gate over TCP). Each socket's connection is accepted as that socket's request,
 * whichever arrives first, by any worker; shutting the sockets down ends a worker's wait
 * instead of leaving it asleep; the sockets systemd passes are all taken. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fcgi/listeners.h"
#include "unit.h"

/* A FastCGI responder request with one parameter, as a web server sends it: BEGIN_REQUEST,
 * PARAMS (REQUEST_URI=uri), the empty PARAMS and the empty STDIN. */
static void send_request(int fd, const char *uri)
{
	unsigned char rec[512];
	size_t n = 0, ulen = strlen(uri), plen = 2 + 11 + ulen;
	static const unsigned char begin[16] = { 1, 1, 0, 1, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0 };

	ck_assert_uint_lt(ulen, 128);
	memcpy(rec, begin, sizeof begin);
	n = sizeof begin;
	rec[n++] = 1, rec[n++] = 4, rec[n++] = 0, rec[n++] = 1;
	rec[n++] = 0, rec[n++] = (unsigned char)plen, rec[n++] = 0, rec[n++] = 0;
	rec[n++] = 11, rec[n++] = (unsigned char)ulen;
	memcpy(rec + n, "REQUEST_URI", 11);
	n += 11;
	memcpy(rec + n, uri, ulen);
	n += ulen;
	static const unsigned char ends[16] = { 1, 4, 0, 1, 0, 0, 0, 0, 1, 5, 0, 1, 0, 0, 0, 0 };
	memcpy(rec + n, ends, sizeof ends);
	n += sizeof ends;
	ck_assert_int_eq(write(fd, rec, n), (ssize_t)n);
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	return fd;
}

static int connect_tcp(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	return fd;
}

static int bound_port(int fd)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;

	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	return ntohs(sa.sin_port);
}

struct two {
	char dir[64], path[128];
	struct listeners l;
	int port;
};

/* A loopback port free a moment ago (libfcgi takes HOST:0 for a Unix socket path). */
static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	ck_assert_int_ge(fd, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	port = bound_port(fd);
	close(fd);
	return port;
}

/* A Unix socket in a directory of its own and a loopback TCP port. */
static void open_two(struct two *t)
{
	const char *specs[2];
	char err[256], tcp[32];

	ck_assert_int_eq(FCGX_Init(), 0);
	snprintf(t->dir, sizeof t->dir, "/tmp/periscope-listeners-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(t->dir));
	snprintf(t->path, sizeof t->path, "%s/api.sock", t->dir);
	specs[0] = t->path;
	snprintf(tcp, sizeof tcp, "127.0.0.1:%d", free_port());
	specs[1] = tcp;
	ck_assert_msg(listeners_open(&t->l, specs, 2, err, sizeof err) == 0, "%s", err);
	ck_assert_uint_eq(t->l.count, 2);
	t->port = bound_port(t->l.fds[1]);
}

static void close_two(struct two *t)
{
	for (size_t i = 0; i < t->l.count; i++)
		close(t->l.fds[i]);
	unlink(t->path);
	rmdir(t->dir);
}

START_TEST(each_socket_s_connection_is_accepted_as_that_socket_s_request)
{
	struct two t;
	struct listener_wait w;
	FCGX_Request *r;
	int tcp, unix_fd;

	open_two(&t);
	ck_assert_int_eq(listener_wait_init(&w, &t.l), 0);
	/* TCP first, then the Unix socket: each wait returns the one that is there. */
	tcp = connect_tcp(t.port);
	send_request(tcp, "/api/clusters/a/shell");
	r = listener_wait_accept(&w);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->listen_sock, t.l.fds[1]);
	ck_assert_str_eq(FCGX_GetParam("REQUEST_URI", r->envp), "/api/clusters/a/shell");
	close(tcp); /* libfcgi's lingering close waits for the web server's end otherwise */
	FCGX_Finish_r(r);
	unix_fd = connect_unix(t.path);
	send_request(unix_fd, "/api/clusters");
	r = listener_wait_accept(&w);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->listen_sock, t.l.fds[0]);
	ck_assert_str_eq(FCGX_GetParam("REQUEST_URI", r->envp), "/api/clusters");
	close(unix_fd);
	FCGX_Finish_r(r);
	listener_wait_free(&w);
	close_two(&t);
}
END_TEST

START_TEST(two_workers_waiting_on_the_same_sockets_each_take_one)
{
	struct two t;
	struct listener_wait a, b;
	FCGX_Request *r;
	int unix_fd, tcp;

	open_two(&t);
	ck_assert_int_eq(listener_wait_init(&a, &t.l), 0);
	ck_assert_int_eq(listener_wait_init(&b, &t.l), 0);
	/* Each worker has an epoll set of its own over the same two sockets: worker a takes
	 * the Unix socket's connection, then worker b the TCP one, each as its socket's. */
	unix_fd = connect_unix(t.path);
	send_request(unix_fd, "/healthz");
	r = listener_wait_accept(&a);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->listen_sock, t.l.fds[0]);
	ck_assert_str_eq(FCGX_GetParam("REQUEST_URI", r->envp), "/healthz");
	close(unix_fd);
	FCGX_Finish_r(r);
	tcp = connect_tcp(t.port);
	send_request(tcp, "/readyz");
	r = listener_wait_accept(&b);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->listen_sock, t.l.fds[1]);
	ck_assert_str_eq(FCGX_GetParam("REQUEST_URI", r->envp), "/readyz");
	close(tcp);
	FCGX_Finish_r(r);
	listener_wait_free(&a);
	listener_wait_free(&b);
	close_two(&t);
}
END_TEST

START_TEST(shutting_the_sockets_down_ends_the_wait)
{
	struct two t;
	struct listener_wait w;

	open_two(&t);
	ck_assert_int_eq(listener_wait_init(&w, &t.l), 0);
	listeners_shutdown(&t.l);
	/* Returns at once (check's timeout would end a wait that stayed asleep). */
	ck_assert_ptr_null(listener_wait_accept(&w));
	listener_wait_free(&w);
	close_two(&t);
}
END_TEST

START_TEST(takes_every_socket_systemd_passes)
{
	struct listeners l;
	char err[256], pid[32];

	snprintf(pid, sizeof pid, "%ld", (long)getpid());
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "2", 1);
	ck_assert_int_eq(listeners_open(&l, NULL, 0, err, sizeof err), 0);
	ck_assert_uint_eq(l.count, 2);
	ck_assert_int_eq(l.fds[0], 3);
	ck_assert_int_eq(l.fds[1], 4);
	/* Another process's sockets (LISTEN_PID not ours): fd 0, as spawn-fcgi hands it. */
	setenv("LISTEN_PID", "1", 1);
	ck_assert_int_eq(listeners_open(&l, NULL, 0, err, sizeof err), 0);
	ck_assert_uint_eq(l.count, 1);
	ck_assert_int_eq(l.fds[0], 0);
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "5", 1);
	ck_assert_int_eq(listeners_open(&l, NULL, 0, err, sizeof err), -1);
	ck_assert_str_eq(err, "at most 4 sockets (systemd passed 5)");
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
}
END_TEST

START_TEST(refuses_more_sockets_than_it_serves)
{
	struct listeners l;
	char err[256];
	const char *five[5] = { "a", "b", "c", "d", "e" };

	ck_assert_int_eq(listeners_open(&l, five, 5, err, sizeof err), -1);
	ck_assert_str_eq(err, "at most 4 sockets (--socket given 5 times)");
	ck_assert_uint_eq(l.count, 0);
}
END_TEST

static Suite *listeners_suite(void)
{
	Suite *s = suite_create("listeners");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, each_socket_s_connection_is_accepted_as_that_socket_s_request);
	tcase_add_test(tc, two_workers_waiting_on_the_same_sockets_each_take_one);
	tcase_add_test(tc, shutting_the_sockets_down_ends_the_wait);
	tcase_add_test(tc, takes_every_socket_systemd_passes);
	tcase_add_test(tc, refuses_more_sockets_than_it_serves);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(listeners_suite)
