/* cat-load: the throughput client of dev/bench's shells run (bench/throughput.mjs starts
 * the stack, signs in and reads the machine; this drives one WebSocket). It is the same
 * client for both sides of the ratio, and it must not be what limits either: its own
 * process, one poll loop, no JSON parser on the stdout frames (their head is fixed,
 * lib/shell/frames.c frame_stdout), one base64 decode per frame, the end marker looked
 * for in each frame's bytes only (plus the few before it), timing in microseconds.
 *
 *   cat-load --url ws://127.0.0.1:PORT/PATH --origin ORIGIN --mode shell|drain
 *            [--megabytes 16] [--frames FILE] [--deadline-s 300]
 *   The login cookie comes from PERISCOPE_BENCH_COOKIE ("periscope_session=...").
 *
 * shell: a terminal: the resize, the first prompt, then a file of --megabytes MB (base64
 *        lines of 100) made in the shell; "ready" on stdout; after a line on stdin (the
 *        driver reads the processes' CPU meanwhile) `cat` of it and `echo DONE`, timed from
 *        the keystroke to the frame that completes the marker. With --frames, every message
 *        received in that time is written to FILE afterwards, one a line, exactly as the
 *        bridge wrote them: the anchor's input.
 * drain: the anchor: websocketd sending a file of such lines (`cat FILE`): every message
 *        until the connection closes, timed from the first to the last.
 * Each prints one JSON line: {"event":"cat","bytes":N,"frames":N,"seconds":S}, bytes being
 * the terminal bytes (base64-decoded) of the stdout frames. Loopback only. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "core/encoding.h"
#include "net/wsclient.h"

#define STDOUT_HEAD "{\"type\":\"stdout\",\"data\":\""
#define PING_EVERY_US (10LL * 1000 * 1000) /* the bridge ends a browser silent for 3 heartbeats */
#define MARK_KEEP 16 /* bytes of the previous frame kept: a marker may span two frames */

struct run {
	const char *url, *origin, *cookie, *mode, *frames_path;
	int megabytes, deadline_s;
	struct ws_client *ws;
	bool counting;           /* between the cat's keystroke and its marker (or the close) */
	const char *want;        /* the marker looked for now, or NULL */
	bool want_prompt;        /* or a frame that ends in "$ " or "# " (bash's prompt) */
	bool seen;               /* it arrived */
	char tail[MARK_KEEP];
	size_t tail_len;
	long long bytes, frames, t_first, t_last, next_ping;
	char *kept;              /* --frames: the messages of the measured span, '\n' after each */
	size_t kept_len, kept_cap;
	bool failed;
	char failure[200];
};

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int keep(struct run *r, const uint8_t *data, size_t len)
{
	if (r->kept_len + len + 1 > r->kept_cap) {
		size_t cap = r->kept_cap ? r->kept_cap : 1 << 20;
		char *p;

		while (cap < r->kept_len + len + 1)
			cap *= 2;
		p = realloc(r->kept, cap);
		if (!p)
			return -1;
		r->kept = p;
		r->kept_cap = cap;
	}
	memcpy(r->kept + r->kept_len, data, len);
	r->kept_len += len;
	r->kept[r->kept_len++] = '\n';
	return 0;
}

/* Looks for the marker in this frame's bytes and across the join with the previous one's. */
static void look_for_marker(struct run *r, const unsigned char *bytes, size_t len)
{
	char joined[2 * MARK_KEEP];
	size_t head = len < MARK_KEEP ? len : MARK_KEEP, total = r->tail_len + head, from;

	memcpy(joined, r->tail, r->tail_len);
	memcpy(joined + r->tail_len, bytes, head);
	if (r->want && (memmem(bytes, len, r->want, strlen(r->want)) ||
			memmem(joined, total, r->want, strlen(r->want))))
		r->seen = true;
	if (len >= MARK_KEEP) {
		memcpy(r->tail, bytes + len - MARK_KEEP, MARK_KEEP);
		r->tail_len = MARK_KEEP;
	} else { /* joined holds the old tail and all of this frame */
		from = total > MARK_KEEP ? total - MARK_KEEP : 0;
		memmove(r->tail, joined + from, total - from);
		r->tail_len = total - from;
	}
}

static void on_message(void *ud, enum ws_opcode opcode, const uint8_t *data, size_t len)
{
	struct run *r = ud;
	const size_t head = sizeof STDOUT_HEAD - 1;
	unsigned char *bytes = NULL;
	size_t n = 0;
	long long t = now_us();

	if (opcode != WS_OPCODE_TEXT)
		return;
	if (r->counting && r->frames_path && keep(r, data, len) != 0) {
		r->failed = true;
		snprintf(r->failure, sizeof r->failure, "out of memory keeping the frames");
	}
	if (len < head + 3 || memcmp(data, STDOUT_HEAD, head) != 0) {
		/* Not output: an error frame while waiting is the end of the run. */
		if (len >= 15 && memcmp(data, "{\"type\":\"error\"", 15) == 0 && !r->counting) {
			r->failed = true;
			snprintf(r->failure, sizeof r->failure, "%.*s", (int)(len < 190 ? len : 190), (const char *)data);
		}
		return;
	}
	/* The base64 ends at the closing quote: the frame is {"type":"stdout","data":"..."}. */
	if (data[len - 2] != '"' || data[len - 1] != '}' ||
	    b64_decode((const char *)data + head, len - head - 2, &bytes, &n) != 0) {
		r->failed = true;
		snprintf(r->failure, sizeof r->failure, "a stdout frame that is not base64 in the bridge's form");
		return;
	}
	if (r->counting) {
		if (!r->frames)
			r->t_first = t;
		r->t_last = t;
		r->frames++;
		r->bytes += (long long)n;
	}
	if (r->want_prompt)
		r->seen = r->seen || (n >= 2 && (bytes[n - 2] == '$' || bytes[n - 2] == '#') && bytes[n - 1] == ' ');
	else
		look_for_marker(r, bytes, n);
	free(bytes);
}

static int send_text(struct run *r, const char *text)
{
	return ws_client_send(r->ws, WS_OPCODE_TEXT, text, strlen(text)) == 0 ? 0 : -1;
}

/* Keystrokes: one stdin frame with text base64-encoded. */
static int type(struct run *r, const char *text)
{
	char *b64 = b64_encode(text, strlen(text)), *frame = NULL;
	int rc = -1;

	if (!b64 || asprintf(&frame, "{\"type\":\"stdin\",\"data\":\"%s\"}", b64) < 0)
		goto done;
	rc = send_text(r, frame);
done:
	free(b64);
	free(frame);
	return rc;
}

/* Runs the connection until the marker (want) arrived, it closed, or the deadline. */
static int pump(struct run *r, const char *want, long long deadline)
{
	r->want = want;
	r->want_prompt = want && strcmp(want, "a prompt") == 0;
	r->seen = false;
	r->tail_len = 0;
	while (!r->failed && !(want && r->seen) && !ws_client_closed(r->ws)) {
		struct pollfd pfd = { .fd = ws_client_fd(r->ws), .events = ws_client_poll_events(r->ws) };
		char ping[64];

		if (now_us() >= r->next_ping) {
			r->next_ping = now_us() + PING_EVERY_US;
			snprintf(ping, sizeof ping, "{\"type\":\"ping\",\"ts\":%lld}", now_us() / 1000);
			if (send_text(r, ping) != 0) {
				snprintf(r->failure, sizeof r->failure, "the connection ended before %s", want ? want : "close");
				r->failed = true;
				break;
			}
			pfd.events = ws_client_poll_events(r->ws);
		}

		if (now_us() > deadline) {
			snprintf(r->failure, sizeof r->failure, "no %s within %d s", want ? want : "close", r->deadline_s);
			r->failed = true;
			break;
		}
		if (poll(&pfd, 1, ws_client_has_buffered_input(r->ws) ? 0 : 100) < 0 && errno != EINTR)
			break;
		if (ws_client_on_ready(r->ws, pfd.revents) != 0 && want) {
			snprintf(r->failure, sizeof r->failure, "the connection ended before %s", want);
			r->failed = true;
		}
	}
	if (want && !r->seen && !r->failed) {
		struct ws_close_info ci;

		ws_client_close_info(r->ws, &ci);
		snprintf(r->failure, sizeof r->failure, "the connection ended (close %u %s%s) before %s",
			 ci.code_received, ci.reason_received ? ci.reason_received : "",
			 ci.error ? ci.error : "", want);
	}
	return r->failed || (want && !r->seen) ? -1 : 0;
}

static void print_result(const struct run *r)
{
	printf("{\"event\":\"cat\",\"bytes\":%lld,\"frames\":%lld,\"seconds\":%.6f}\n", r->bytes, r->frames,
	       (double)(r->t_last - r->t_first) / 1e6);
	fflush(stdout);
}

static int run_shell(struct run *r)
{
	char cmd[256], file[64];
	long long deadline = now_us() + (long long)r->deadline_s * 1000000, t0;
	char line[16];

	snprintf(file, sizeof file, "/tmp/periscope-bench-cat-%ld", (long)getpid());
	if (send_text(r, "{\"type\":\"resize\",\"cols\":120,\"rows\":40}") != 0 ||
	    pump(r, "a prompt", deadline) != 0)
		return -1;
	/* RE""ADY: the echo of the command line does not hold the marker, its output does. */
	snprintf(cmd, sizeof cmd, "head -c %lld /dev/zero | base64 -w 100 > %s; echo RE\"\"ADY\r",
		 (long long)r->megabytes * 750000, file);
	if (type(r, cmd) != 0 || pump(r, "READY\r\n", deadline) != 0)
		return -1;
	printf("{\"event\":\"ready\"}\n");
	fflush(stdout);
	if (!fgets(line, sizeof line, stdin))
		return -1;
	snprintf(cmd, sizeof cmd, "cat %s; echo DO\"\"NE\r", file);
	r->counting = true;
	t0 = now_us();
	if (type(r, cmd) != 0 || pump(r, "DONE\r\n", deadline) != 0)
		return -1;
	r->counting = false;
	r->t_first = t0; /* the user's view: from the keystroke */
	/* The result now, while the session still runs (the driver reads its processes' CPU),
	 * then the end once it says so. */
	print_result(r);
	if (!fgets(line, sizeof line, stdin))
		return -1;
	snprintf(cmd, sizeof cmd, "rm -f %s; exit\r", file);
	if (type(r, cmd) != 0)
		return -1;
	(void)pump(r, NULL, now_us() + 30 * 1000000LL);
	return 0;
}

static int run_drain(struct run *r)
{
	r->counting = true;
	return pump(r, NULL, now_us() + (long long)r->deadline_s * 1000000);
}

static int write_frames(const struct run *r)
{
	FILE *f = fopen(r->frames_path, "w");
	int rc = -1;

	if (!f)
		return -1;
	if (fwrite(r->kept, 1, r->kept_len, f) == r->kept_len)
		rc = 0;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: cat-load --url ws://127.0.0.1:PORT/PATH --origin ORIGIN --mode shell|drain\n"
		     "                [--megabytes 16] [--frames FILE] [--deadline-s 300]\n"
		     "the cookie comes from PERISCOPE_BENCH_COOKIE\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, 'u' }, { "origin", required_argument, NULL, 'o' },
		{ "mode", required_argument, NULL, 'm' }, { "megabytes", required_argument, NULL, 'b' },
		{ "frames", required_argument, NULL, 'f' }, { "deadline-s", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	struct run r = { .megabytes = 16, .deadline_s = 300 };
	char cookie[4096], origin[512], err[256];
	const char *headers[] = { cookie, origin, NULL };
	int opt, rc = 1;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'u': r.url = optarg; break;
		case 'o': r.origin = optarg; break;
		case 'm': r.mode = optarg; break;
		case 'b': r.megabytes = atoi(optarg); break;
		case 'f': r.frames_path = optarg; break;
		case 'd': r.deadline_s = atoi(optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	r.cookie = getenv("PERISCOPE_BENCH_COOKIE");
	if (!r.url || !r.origin || !r.mode || (strcmp(r.mode, "shell") != 0 && strcmp(r.mode, "drain") != 0) ||
	    r.megabytes < 1 || r.megabytes > 1024 || r.deadline_s < 1 ||
	    strncmp(r.url, "ws://127.0.0.1:", 15) != 0) {
		usage(stderr);
		return 2;
	}
	snprintf(cookie, sizeof cookie, "Cookie: %s", r.cookie ? r.cookie : "");
	snprintf(origin, sizeof origin, "Origin: %s", r.origin);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		fprintf(stderr, "cat-load: libcurl did not start\n");
		return 1;
	}
	{
		struct ws_client_opts o = {
			.url = r.url, .headers = headers, .connect_timeout_ms = 60000,
			.on_message = on_message, .userdata = &r,
		};

		r.ws = ws_client_new(&o, err, sizeof err);
		if (!r.ws || ws_client_connect(r.ws, err, sizeof err) != 0) {
			fprintf(stderr, "cat-load: upgrade: HTTP %d %s\n", r.ws ? ws_client_http_status(r.ws) : 0, err);
			goto done;
		}
	}
	if ((strcmp(r.mode, "shell") == 0 ? run_shell(&r) : run_drain(&r)) != 0 || r.failed) {
		fprintf(stderr, "cat-load: %s\n", r.failure[0] ? r.failure : "the run failed");
		goto done;
	}
	if (r.frames_path && write_frames(&r) != 0) {
		fprintf(stderr, "cat-load: could not write %s\n", r.frames_path);
		goto done;
	}
	if (strcmp(r.mode, "drain") == 0)
		print_result(&r);
	rc = 0;
done:
	ws_client_free(r.ws);
	free(r.kept);
	curl_global_cleanup();
	return rc;
}
