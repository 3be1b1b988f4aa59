/* ws-probe: drives lib/wsclient (and, with --k8s, lib/k8s_channel) from the command line
 * so the integration tests can run them against real servers. Each stdin line is sent as
 * one message; everything that happens is printed on stdout as one JSON object per line.
 *
 *   ws-probe [--ca FILE] [--header 'N: v']... [--protocol P]... [--k8s] [--resize CxR]
 *            [--max-message N] [--max-pending N] [--timeout-ms N] [--ping-ms N]
 *            [--read-timeout-ms N]
 *            [--flood BYTES] [--hold] URL
 *   ws-probe --exec NS/POD --command ARG... [--container C] [--tty] [options] SERVER
 *            (builds the pods/exec URL from SERVER with lib/k8s_exec_url; implies --k8s)
 *
 * --hold: while stdin is open the socket is left alone (no poll, no ws_client_on_ready);
 * each line is queued and handed over by ws_client_flush alone, then "flushed" says what
 * is still pending. Once stdin ends the probe reads and closes as usual.
 *
 * Events: open, message, k8s, queue_full, flood_done, drained, flushed, http_error,
 * connect_error, status, closed. Exit status 0 when the connection ended cleanly, 1 otherwise. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "core/buf.h"
#include "k8s/k8s_channel.h"
#include "k8s/k8s_exec_url.h"
#include "core/timeutil.h"
#include "net/wsclient.h"

#define MAX_LIST 16
#define FLOOD_CHUNK (64 * 1024)

struct probe {
	struct ws_client *ws;
	bool k8s;
	enum k8s_proto proto;
	struct buf status;     /* channel 3, accumulated until the end */
	struct buf frame;      /* reused for encoding outgoing k8s messages */
	struct buf line;       /* stdin bytes not yet terminated by a newline */
	bool stdin_eof;
	bool hold;             /* --hold: the socket only through ws_client_flush until stdin ends */
	size_t flood_left, flood_total;
	bool flood_reported, drained_reported, queue_full_reported;
};

static void emit(json_t *obj)
{
	char *s = json_dumps(obj, JSON_COMPACT);

	if (s) {
		puts(s);
		fflush(stdout);
		free(s);
	}
	json_decref(obj);
}

/* Text as a JSON string when it is UTF-8, otherwise hex (binary payloads). */
static void set_data(json_t *obj, const uint8_t *data, size_t len)
{
	json_t *s = json_stringn((const char *)data, len);

	if (s) {
		json_object_set_new(obj, "data", s);
	} else {
		char *hex = malloc(2 * len + 1);

		if (!hex)
			return;
		for (size_t i = 0; i < len; i++)
			sprintf(hex + 2 * i, "%02x", data[i]);
		hex[2 * len] = '\0';
		json_object_set_new(obj, "data_hex", json_string(hex));
		free(hex);
	}
	json_object_set_new(obj, "len", json_integer((json_int_t)len));
}

static void on_message(void *ud, enum ws_opcode opcode, const uint8_t *data, size_t len)
{
	struct probe *p = ud;
	json_t *o = json_object();
	struct k8s_frame f;

	if (p->k8s && k8s_decode(data, len, &f) == 0) {
		if (f.channel == K8S_CH_STATUS)
			(void)buf_append(&p->status, f.payload, f.len);
		json_object_set_new(o, "event", json_string("k8s"));
		json_object_set_new(o, "channel", json_integer(f.channel));
		set_data(o, f.payload, f.len);
	} else {
		json_object_set_new(o, "event", json_string("message"));
		json_object_set_new(o, "opcode",
				    json_string(opcode == WS_OPCODE_TEXT ? "text" : "binary"));
		set_data(o, data, len);
	}
	/* Lets the test see that reads are served while our own output is stuck. */
	if (p->ws)
		json_object_set_new(o, "pending",
				    json_integer((json_int_t)ws_client_pending_output(p->ws)));
	emit(o);
}

static int send_line(struct probe *p, const char *data, size_t len)
{
	if (!p->k8s)
		return ws_client_send(p->ws, WS_OPCODE_TEXT, data, len);
	if (k8s_encode_stdin(&p->frame, data, len) != 0)
		return -1;
	return ws_client_send(p->ws, WS_OPCODE_BINARY, p->frame.data, p->frame.len);
}

/* --hold: the line just queued goes to the kernel by ws_client_flush alone. */
static void report_flush(struct probe *p)
{
	int rc = ws_client_flush(p->ws);

	emit(json_pack("{s:s,s:i,s:I}", "event", "flushed", "rc", rc, "pending",
		       (json_int_t)ws_client_pending_output(p->ws)));
}

static void on_stdin_eof(struct probe *p)
{
	p->stdin_eof = true;
	if (p->line.len) {
		(void)send_line(p, p->line.data, p->line.len);
		buf_reset(&p->line);
	}
	/* v5 can say "no more input" and let the command finish; otherwise we end it. */
	if (p->k8s && k8s_encode_close_stdin(&p->frame, p->proto) == 0)
		(void)ws_client_send(p->ws, WS_OPCODE_BINARY, p->frame.data, p->frame.len);
	else if (!p->k8s || p->proto != K8S_PROTO_V5)
		(void)ws_client_close(p->ws, 1000, "probe input ended");
}

static void read_stdin(struct probe *p)
{
	char chunk[4096];
	ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);
	char *nl;

	if (n < 0 && errno == EINTR)
		return;
	if (n <= 0) {
		on_stdin_eof(p);
		return;
	}
	if (buf_append(&p->line, chunk, (size_t)n) != 0) {
		fprintf(stderr, "ws-probe: input line too long\n");
		on_stdin_eof(p);
		return;
	}
	while ((nl = memchr(p->line.data, '\n', p->line.len))) {
		/* k8s stdin keeps the newline (it is terminal input); a text message does not. */
		size_t keep = (size_t)(nl - p->line.data) + (p->k8s ? 1 : 0);
		size_t consumed = (size_t)(nl - p->line.data) + 1;

		if (send_line(p, p->line.data, keep) != 0)
			fprintf(stderr, "ws-probe: could not queue a line\n");
		else if (p->hold)
			report_flush(p);
		memmove(p->line.data, p->line.data + consumed, p->line.len - consumed);
		p->line.len -= consumed;
	}
}

static void pump_flood(struct probe *p)
{
	static const uint8_t zeros[FLOOD_CHUNK];

	while (p->flood_left > 0) {
		size_t n = p->flood_left < FLOOD_CHUNK ? p->flood_left : FLOOD_CHUNK;
		int r = ws_client_send(p->ws, WS_OPCODE_BINARY, zeros, n);

		if (r == 1) {
			if (!p->queue_full_reported) {
				json_t *o = json_pack("{s:s,s:I}", "event", "queue_full", "pending",
						      (json_int_t)ws_client_pending_output(p->ws));
				p->queue_full_reported = true;
				emit(o);
			}
			return;
		}
		if (r != 0)
			return;
		p->flood_left -= n;
	}
	if (p->flood_total && !p->flood_reported) {
		p->flood_reported = true;
		emit(json_pack("{s:s,s:I}", "event", "flood_done", "sent",
			       (json_int_t)p->flood_total));
	}
	if (p->flood_reported && !p->drained_reported && ws_client_pending_output(p->ws) == 0) {
		p->drained_reported = true;
		emit(json_pack("{s:s}", "event", "drained"));
	}
}

static void report_refusal(struct probe *p, const char *err)
{
	size_t len = 0;
	const char *body = ws_client_http_body(p->ws, &len);
	int status = ws_client_http_status(p->ws);
	json_t *o = json_object();

	if (status && status != 101) {
		json_object_set_new(o, "event", json_string("http_error"));
		json_object_set_new(o, "status", json_integer(status));
		json_object_set_new(o, "body", json_stringn(body ? body : "", len));
		if (p->k8s) {
			struct k8s_status st;
			char why[128], line[700];

			if (k8s_status_parse(body ? body : "", len, &st, why, sizeof why) == 0) {
				k8s_status_describe(&st, line, sizeof line);
				json_object_set_new(o, "reason", json_string(st.reason));
				json_object_set_new(o, "message", json_string(st.message));
				json_object_set_new(o, "code", json_integer(st.code));
				json_object_set_new(o, "describe", json_string(line));
			}
		}
	} else {
		json_object_set_new(o, "event", json_string("connect_error"));
	}
	json_object_set_new(o, "error", json_string(err));
	emit(o);
}

static void report_end(struct probe *p)
{
	struct ws_close_info ci;
	json_t *o;

	if (p->k8s) {
		struct k8s_status st;
		char why[128], line[700];

		o = json_object();
		json_object_set_new(o, "event", json_string("status"));
		if (k8s_status_parse(p->status.data ? p->status.data : "", p->status.len, &st, why,
				     sizeof why) == 0) {
			static const char *const kinds[] = { "success", "exit", "failure" };

			k8s_status_describe(&st, line, sizeof line);
			json_object_set_new(o, "kind", json_string(kinds[st.kind]));
			json_object_set_new(o, "exit_code", json_integer(st.exit_code));
			json_object_set_new(o, "reason", json_string(st.reason));
			json_object_set_new(o, "describe", json_string(line));
		} else {
			json_object_set_new(o, "kind", json_string("unparsable"));
			json_object_set_new(o, "error", json_string(why));
		}
		emit(o);
	}
	ws_client_close_info(p->ws, &ci);
	o = json_object();
	json_object_set_new(o, "event", json_string("closed"));
	json_object_set_new(o, "close_received", json_boolean(ci.close_received));
	json_object_set_new(o, "code_received", json_integer(ci.code_received));
	json_object_set_new(o, "reason", json_string(ci.reason_received ? ci.reason_received : ""));
	json_object_set_new(o, "close_sent", json_boolean(ci.close_sent));
	json_object_set_new(o, "code_sent", json_integer(ci.code_sent));
	json_object_set_new(o, "error", ci.error ? json_string(ci.error) : json_null());
	emit(o);
}

static int run(struct probe *p)
{
	while (!ws_client_closed(p->ws)) {
		struct pollfd fds[2] = {
			{ .fd = p->stdin_eof ? -1 : STDIN_FILENO, .events = POLLIN },
			{ .fd = ws_client_fd(p->ws), .events = ws_client_poll_events(p->ws) },
		};
		int timeout = -1;
		long long now = monotonic_ms();

		long long next = ws_client_next_keepalive(p->ws, now);

		if (p->hold && !p->stdin_eof) {
			if (poll(fds, 1, -1) < 0 && errno != EINTR) {
				perror("ws-probe: poll");
				return -1;
			}
			if (fds[0].revents)
				read_stdin(p);
			continue;
		}
		if (next >= 0)
			timeout = next > now ? (int)(next - now) : 0;
		if (ws_client_has_buffered_input(p->ws))
			timeout = 0;
		if (poll(fds, 2, timeout) < 0 && errno != EINTR) {
			perror("ws-probe: poll");
			return -1;
		}
		if (fds[0].revents)
			read_stdin(p);
		if (ws_client_on_ready(p->ws, fds[1].revents) != 0)
			break;
		/* The library's keepalive: pings every --ping-ms, --read-timeout-ms deadline. */
		if (ws_client_keepalive(p->ws, monotonic_ms()) != 0)
			break;
		pump_flood(p);
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: ws-probe [--ca FILE] [--header 'N: v']... [--protocol P]... "
			"[--k8s] [--resize CxR] [--max-message N] [--max-pending N] "
			"[--timeout-ms N] [--ping-ms N] [--flood BYTES] [--hold] URL\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "ca", required_argument, NULL, 'c' },
		{ "header", required_argument, NULL, 'H' },
		{ "protocol", required_argument, NULL, 'p' },
		{ "k8s", no_argument, NULL, 'k' },
		{ "resize", required_argument, NULL, 'r' },
		{ "max-message", required_argument, NULL, 'm' },
		{ "max-pending", required_argument, NULL, 'P' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "ping-ms", required_argument, NULL, 'i' },
		{ "read-timeout-ms", required_argument, NULL, 'D' },
		{ "flood", required_argument, NULL, 'f' },
		{ "exec", required_argument, NULL, 'e' },
		{ "command", required_argument, NULL, 'C' },
		{ "container", required_argument, NULL, 'n' },
		{ "tty", no_argument, NULL, 'T' },
		{ "hold", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *headers[MAX_LIST + 1] = { 0 }, *protocols[MAX_LIST + 1] = { 0 };
	const char *command[MAX_LIST + 1] = { 0 };
	size_t nheaders = 0, nprotocols = 0, ncommand = 0;
	struct k8s_exec_request exec = { .stdin_ = true, .stdout_ = true, .stderr_ = true };
	char *exec_target = NULL, *exec_url = NULL;
	unsigned cols = 0, rows = 0;
	struct ws_client_opts o = { 0 };
	struct probe p = { 0 };
	char err[512];
	int opt, rc = 1;

	buf_init(&p.status, 64 * 1024);
	buf_init(&p.frame, 1024 * 1024);
	buf_init(&p.line, 1024 * 1024);
	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "ws-probe: cannot initialise libcurl\n");
		return 1;
	}
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': o.ca_file = optarg; break;
		case 'H': if (nheaders < MAX_LIST) headers[nheaders++] = optarg; break;
		case 'p': if (nprotocols < MAX_LIST) protocols[nprotocols++] = optarg; break;
		case 'k': p.k8s = true; break;
		case 'r':
			if (sscanf(optarg, "%ux%u", &cols, &rows) != 2) {
				usage();
				return 2;
			}
			break;
		case 'm': o.max_message = strtoul(optarg, NULL, 10); break;
		case 'P': o.max_pending = strtoul(optarg, NULL, 10); break;
		case 't': o.connect_timeout_ms = atoi(optarg); break;
		case 'i': o.ping_interval_ms = atoi(optarg); break;
		case 'D': o.read_timeout_ms = atoi(optarg); break;
		case 'f': p.flood_left = p.flood_total = strtoul(optarg, NULL, 10); break;
		case 'e': exec_target = optarg; p.k8s = true; break;
		case 'C': if (ncommand < MAX_LIST) command[ncommand++] = optarg; break;
		case 'n': exec.container = optarg; break;
		case 'T': exec.tty = true; exec.stderr_ = false; break;
		case 'h': p.hold = true; break;
		default: usage(); return 2;
		}
	}
	if (optind != argc - 1) {
		usage();
		return 2;
	}
	o.url = argv[optind];
	if (exec_target) {
		char *slash = strchr(exec_target, '/');

		if (!slash) {
			usage();
			return 2;
		}
		*slash = '\0';
		exec.server = argv[optind];
		exec.ns = exec_target;
		exec.pod = slash + 1;
		exec.command = command;
		exec_url = k8s_exec_url(&exec, err, sizeof err);
		if (!exec_url) {
			emit(json_pack("{s:s,s:s}", "event", "connect_error", "error", err));
			goto done;
		}
		o.url = exec_url;
	}
	o.headers = headers;
	o.subprotocols = nprotocols ? protocols : (p.k8s ? k8s_subprotocol_offer : NULL);
	o.on_message = on_message;
	o.userdata = &p;
	p.ws = ws_client_new(&o, err, sizeof err);
	if (!p.ws) {
		emit(json_pack("{s:s,s:s}", "event", "connect_error", "error", err));
		goto done;
	}
	if (ws_client_connect(p.ws, err, sizeof err) != 0) {
		report_refusal(&p, err);
		goto done;
	}
	p.proto = k8s_proto_from_subprotocol(ws_client_subprotocol(p.ws));
	emit(json_pack("{s:s,s:s?,s:i}", "event", "open", "subprotocol",
		       ws_client_subprotocol(p.ws), "http_status", ws_client_http_status(p.ws)));
	if (p.k8s && cols && k8s_encode_resize(&p.frame, cols, rows) == 0)
		(void)ws_client_send(p.ws, WS_OPCODE_BINARY, p.frame.data, p.frame.len);
	if (run(&p) != 0)
		goto done;
	report_end(&p);
	{
		struct ws_close_info ci;

		ws_client_close_info(p.ws, &ci);
		rc = ci.error ? 1 : 0;
	}
done:
	ws_client_free(p.ws);
	free(exec_url);
	curl_global_cleanup();
	buf_free(&p.status);
	buf_free(&p.frame);
	buf_free(&p.line);
	return rc;
}
