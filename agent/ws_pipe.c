#include "agent/ws_pipe.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/timeutil.h"
#include "net/wsclient.h"

#define CHUNK 32768
#define PING_MS 20000
#define READ_TIMEOUT_MS 75000
#define MAX_PENDING (1u << 20)

struct pipe_state {
	int failed;
};

/* Blocking write of everything: ssh reads its proxy's output promptly, and while it does
 * not, not reading the WebSocket is the backpressure we want. */
static void on_message(void *ud, enum ws_opcode opcode, const uint8_t *data, size_t len)
{
	struct pipe_state *ps = ud;

	(void)opcode;
	while (len > 0 && !ps->failed) {
		ssize_t n = write(STDOUT_FILENO, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ps->failed = 1;
			return;
		}
		data += n;
		len -= (size_t)n;
	}
}

int ws_pipe_run(const char *url, const char *ca_file)
{
	struct pipe_state ps = { 0 };
	struct ws_client_opts o = {
		.url = url, .ca_file = ca_file, .user_agent = "periscope-agent",
		.connect_timeout_ms = 15000, .max_message = 1u << 20, .max_pending = MAX_PENDING,
		.ping_interval_ms = PING_MS, .read_timeout_ms = READ_TIMEOUT_MS,
		.on_message = on_message, .userdata = &ps,
	};
	struct ws_client *c;
	struct ws_close_info info;
	char err[512], buf[CHUNK];
	bool stdin_open = true;
	int rc = 1;

	c = ws_client_new(&o, err, sizeof err);
	if (!c || ws_client_connect(c, err, sizeof err) != 0) {
		fprintf(stderr, "periscope-agent: cannot open %s: %s (HTTP %d)\n", url, err,
			c ? ws_client_http_status(c) : 0);
		goto done;
	}
	while (!ws_client_closed(c) && !ps.failed) {
		bool room = ws_client_pending_output(c) < MAX_PENDING / 2;
		struct pollfd pfd[2] = {
			{ ws_client_fd(c), ws_client_poll_events(c), 0 },
			{ stdin_open && room ? STDIN_FILENO : -1, POLLIN, 0 },
		};
		/* The keepalive is checked at least every second. */
		int timeout = ws_client_has_buffered_input(c) ? 0 : 1000;

		if (poll(pfd, 2, timeout) < 0 && errno != EINTR)
			break;
		if (ws_client_on_ready(c, pfd[0].revents) != 0 ||
		    ws_client_keepalive(c, monotonic_ms()) != 0)
			break;
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
			if (n > 0) {
				if (ws_client_send(c, WS_OPCODE_BINARY, buf, (size_t)n) < 0)
					break;
			} else if (n == 0 || errno != EINTR) {
				/* ssh closed its side: end the WebSocket cleanly. */
				stdin_open = false;
				ws_client_close(c, 1000, "ssh ended");
			}
		}
	}
	ws_client_close_info(c, &info);
	if (info.error && stdin_open) {
		fprintf(stderr, "periscope-agent: the tunnel WebSocket ended: %s\n", info.error);
		goto done;
	}
	rc = 0;
done:
	ws_client_free(c);
	return rc;
}
