/* scale-load: many terminals at once from one lean process, for dev/bench's scale run
 * (bench/scale.mjs starts the stack and signs in; this drives the WebSockets). The client
 * must not be what limits the measurement: one epoll loop over every socket (work per
 * event, not per session), no per-frame regex over the whole output, timing in
 * microseconds.
 *
 *   scale-load --url ws://127.0.0.1:PORT/api/clusters/local/shell --origin ORIGIN
 *              [--sessions 500] [--openers 16] [--keys 20] [--interval-ms 1000]
 *              [--deadline-s 600] [--hold-s 0] [--wait-go]
 *   The login cookie comes from PERISCOPE_BENCH_COOKIE ("periscope_session=...").
 *
 * Phases, each reported as one JSON line on stdout:
 *   opened  every session opened by --openers threads, each one open at a time (connect
 *           and upgrade, resize, wait for hello and the first prompt): opens per second,
 *           open -> hello and open -> prompt (p50/p99/max), failures by what was seen;
 *   (go)    with --wait-go, the sessions wait idle until a line arrives on stdin;
 *   typed   every live session types --keys keystrokes, one per --interval-ms, spread
 *           evenly over the interval; each keystroke's round trip is the time from its
 *           stdin frame to the next stdout frame (the pty's echo): p50/p99/max, and
 *           the keystrokes over 10 ms by the second of typing they were sent in;
 *   (held)  with --hold-s, the sessions then stay open and idle that long (pinging);
 *   closed  a close frame to each; how many ended within the deadline.
 * While a session waits it sends a ping every 15 s (the bridge cuts a browser silent for
 * three heartbeats). Loopback only: the URL must name 127.0.0.1. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "core/encoding.h"
#include "net/wsclient.h"

#define PING_EVERY_US (15LL * 1000 * 1000)
#define MAX_SESSIONS 4096
#define EPOLL_BATCH 256
#define HANDOFF_TAG UINT32_MAX
#define KEY_LOST_US (5LL * 1000 * 1000)
#define OPEN_DEADLINE_US (120LL * 1000 * 1000)
#define SLOW_US (10LL * 1000)
#define SLOW_SECONDS 600

enum state { S_CONNECTING, S_FAILED, S_WAITING, S_READY, S_ENDED };

struct session {
	struct ws_client *ws;
	enum state state;
	long long t_start, t_hello, t_prompt; /* microseconds, monotonic */
	long long key_sent;                   /* 0 when no keystroke is outstanding */
	long long next_key, next_ping;
	int keys_left;
	bool handed;                          /* the main loop owns it (set by the main loop) */
	bool want_out;                        /* EPOLLOUT asked for (output queued) */
	int fd;                               /* as registered with epoll, -1 once removed */
	char failure[160];
	struct load *load;
};

struct load {
	const char *url, *origin, *cookie;
	int sessions, openers, keys, interval_ms, deadline_s, hold_s;
	bool wait_go;    /* --wait-go: type only once a line arrives on stdin */
	struct session *s;
	atomic_int next_to_open;
	int handoff[2];  /* opener threads write the index of each connected session here */
	int epfd;        /* the main loop's sockets, and the handoff pipe */
	long long *rtt;  /* keystroke round trips, microseconds */
	size_t rtt_count, rtt_cap;
	/* Keystrokes slower than SLOW_US by the second of typing they were sent in: a tail
	 * that comes back at a period names its cause (a 15 s maintenance pass, 10 s
	 * heartbeats, 30 s token checks); one spread evenly is the machine's. */
	long long typing_start;
	int slow_by_second[SLOW_SECONDS];
	int keys_lost;   /* no echo within KEY_LOST_US */
	bool typing;
};

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int send_text(struct session *s, const char *text)
{
	return ws_client_send(s->ws, WS_OPCODE_TEXT, text, strlen(text)) == 0 ? 0 : -1;
}

/* The prompt of bash in the pod ends with "$ " or "# ". */
static bool shows_prompt(const char *b64)
{
	unsigned char *out = NULL;
	size_t len = 0;
	bool prompt;

	if (b64_decode(b64, strlen(b64), &out, &len) != 0)
		return false;
	prompt = len >= 2 && (out[len - 2] == '$' || out[len - 2] == '#') && out[len - 1] == ' ';
	free(out);
	return prompt;
}

static void on_message(void *ud, enum ws_opcode opcode, const uint8_t *data, size_t len)
{
	struct session *s = ud;
	json_t *frame = opcode == WS_OPCODE_TEXT ? json_loadb((const char *)data, len, 0, NULL) : NULL;
	const char *type = json_string_value(json_object_get(frame, "type"));
	long long t = now_us();

	if (!type)
		goto done;
	if (strcmp(type, "hello") == 0 && !s->t_hello) {
		s->t_hello = t;
	} else if (strcmp(type, "stdout") == 0) {
		if (!s->t_prompt && shows_prompt(json_string_value(json_object_get(frame, "data")) ?: "")) {
			s->t_prompt = t;
			s->state = S_READY;
		} else if (s->key_sent) {
			struct load *l = s->load;

			if (l->rtt_count < l->rtt_cap)
				l->rtt[l->rtt_count++] = t - s->key_sent;
			if (t - s->key_sent > SLOW_US && s->key_sent >= l->typing_start &&
			    (s->key_sent - l->typing_start) / 1000000 < SLOW_SECONDS)
				l->slow_by_second[(s->key_sent - l->typing_start) / 1000000]++;
			s->key_sent = 0;
		}
	} else if (strcmp(type, "error") == 0 || strcmp(type, "closed") == 0) {
		bool opening = s->state == S_CONNECTING || s->state == S_WAITING;

		if (opening)
			snprintf(s->failure, sizeof s->failure, "%s %s: %s", type,
				 json_string_value(json_object_get(frame, "code")) ?:
				 json_string_value(json_object_get(frame, "reason")) ?: "",
				 json_string_value(json_object_get(frame, "message")) ?: "");
		s->state = opening ? S_FAILED : S_ENDED;
	}
done:
	json_decref(frame);
}

/* The open itself, in the opener's thread: until the first prompt, an error frame or the
 * deadline, after the resize a browser sends once it is connected. */
static void wait_for_prompt(struct session *s)
{
	long long deadline = now_us() + OPEN_DEADLINE_US;

	(void)send_text(s, "{\"type\":\"resize\",\"cols\":100,\"rows\":30}");
	while (s->state == S_WAITING && now_us() < deadline) {
		struct pollfd pfd = { .fd = ws_client_fd(s->ws), .events = ws_client_poll_events(s->ws) };

		if (poll(&pfd, 1, ws_client_has_buffered_input(s->ws) ? 0 : 100) < 0 && errno != EINTR)
			break;
		if (ws_client_on_ready(s->ws, pfd.revents) != 0 && s->state == S_WAITING) {
			snprintf(s->failure, sizeof s->failure, "connection lost before the prompt");
			s->state = S_FAILED;
		}
	}
	if (s->state == S_WAITING) {
		snprintf(s->failure, sizeof s->failure, "no prompt within %lld s", OPEN_DEADLINE_US / 1000000);
		s->state = S_FAILED;
	}
}

/* Opener threads: each opens one session at a time (connect and upgrade, blocking in
 * lib/wsclient, then the wait for the prompt), so --openers is the number of opens in
 * flight; then hands it to the main loop, which alone touches it from then on. */
static void *opener(void *arg)
{
	struct load *l = arg;
	char cookie[4096], origin[512], err[256];
	const char *headers[] = { cookie, origin, NULL };
	int i;

	snprintf(cookie, sizeof cookie, "Cookie: %s", l->cookie);
	snprintf(origin, sizeof origin, "Origin: %s", l->origin);
	while ((i = atomic_fetch_add(&l->next_to_open, 1)) < l->sessions) {
		struct session *s = &l->s[i];
		struct ws_client_opts o = {
			.url = l->url, .headers = headers, .connect_timeout_ms = 60000,
			.on_message = on_message, .userdata = s,
		};

		s->load = l;
		s->t_start = now_us();
		s->ws = ws_client_new(&o, err, sizeof err);
		if (!s->ws || ws_client_connect(s->ws, err, sizeof err) != 0) {
			snprintf(s->failure, sizeof s->failure, "upgrade: HTTP %d %.100s",
				 s->ws ? ws_client_http_status(s->ws) : 0, s->ws && ws_client_http_body(s->ws, NULL)
				 ? ws_client_http_body(s->ws, NULL) : err);
			s->state = S_FAILED;
		} else {
			if (s->state == S_CONNECTING)
				s->state = S_WAITING; /* (else READY/FAILED already, from frames that came with the 101) */
			wait_for_prompt(s);
		}
		if (write(l->handoff[1], &i, sizeof i) != sizeof i)
			break;
	}
	return NULL;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/* "p50":..,"p99":..,"max":.. in milliseconds of n values (sorted here). */
static void print_spread(const char *name, long long *v, size_t n)
{
	if (n == 0) {
		printf("\"%s\":null", name);
		return;
	}
	qsort(v, n, sizeof *v, cmp_ll);
	printf("\"%s\":{\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f}", name, v[n / 2] / 1000.0,
	       v[n * 99 / 100] / 1000.0, v[n - 1] / 1000.0);
}

static bool live(const struct session *s)
{
	return s->handed && (s->state == S_WAITING || s->state == S_READY) && s->ws && !ws_client_closed(s->ws);
}

/* Writes what was just queued, and asks epoll for POLLOUT only while output waits. */
static void flush(struct load *l, struct session *s, int i)
{
	bool want;

	(void)ws_client_on_ready(s->ws, POLLOUT);
	want = (ws_client_poll_events(s->ws) & POLLOUT) != 0;
	if (want != s->want_out && ws_client_fd(s->ws) >= 0) {
		struct epoll_event ev = { .events = EPOLLIN | (want ? EPOLLOUT : 0), .data.u32 = (uint32_t)i };

		if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, ws_client_fd(s->ws), &ev) == 0)
			s->want_out = want;
	}
}

/* A session the opener handed over: from now on in the main loop's epoll set. */
static void take_over(struct load *l, int i)
{
	struct session *s = &l->s[i];
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };

	s->handed = true;
	s->next_ping = now_us() + PING_EVERY_US;
	s->fd = s->ws ? ws_client_fd(s->ws) : -1;
	if (s->fd >= 0 && epoll_ctl(l->epfd, EPOLL_CTL_ADD, s->fd, &ev) != 0)
		s->fd = -1;
}

/* A session that ended leaves the epoll set (level-triggered: a socket left in it at its
 * end would wake the loop forever). */
static void let_go(struct load *l, struct session *s)
{
	if (s->fd >= 0)
		(void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	s->fd = -1;
}

/* Sends what is due (pings, keystrokes), then waits in epoll for at most timeout_ms or
 * until the next keystroke is due, and serves the sockets that are ready: the client's own
 * cost per event does not grow with the number of sessions (a poll() over every socket at
 * each wake-up did, and at 500 sessions took more CPU than the bridges). */
static void turn(struct load *l, struct epoll_event *evs, int timeout_ms)
{
	long long t = now_us(), next_due = t + (long long)timeout_ms * 1000;
	int n;

	for (int i = 0; i < l->sessions; i++) {
		struct session *s = &l->s[i];
		bool sent = false;

		if (!live(s))
			continue;
		if (t >= s->next_ping) {
			sent = send_text(s, "{\"type\":\"ping\"}") == 0;
			s->next_ping = t + PING_EVERY_US;
		}
		if (s->key_sent && t - s->key_sent > KEY_LOST_US) {
			l->keys_lost++;
			s->key_sent = 0;
		}
		if (l->typing && s->state == S_READY && s->keys_left > 0 && !s->key_sent && t >= s->next_key) {
			/* "a" and DEL in turn: the line stays empty, each echoes. */
			if (send_text(s, s->keys_left % 2 ? "{\"type\":\"stdin\",\"data\":\"YQ==\"}"
						     : "{\"type\":\"stdin\",\"data\":\"fw==\"}") == 0) {
				s->key_sent = now_us();
				s->keys_left--;
				sent = true;
			}
			s->next_key += (long long)l->interval_ms * 1000;
		}
		if (sent)
			flush(l, s, i);
		if (l->typing && s->state == S_READY && s->keys_left > 0 && !s->key_sent && s->next_key < next_due)
			next_due = s->next_key;
		if (ws_client_has_buffered_input(s->ws) && ws_client_on_ready(s->ws, POLLIN) != 0 &&
		    s->state == S_WAITING) {
			snprintf(s->failure, sizeof s->failure, "connection lost before the prompt");
			s->state = S_FAILED;
		}
	}
	t = now_us();
	timeout_ms = next_due <= t ? 0 : (int)((next_due - t + 999) / 1000);
	n = epoll_wait(l->epfd, evs, EPOLL_BATCH, timeout_ms);
	for (int k = 0; k < n; k++) {
		uint32_t i = evs[k].data.u32;
		struct session *s;
		short revents = (short)((evs[k].events & EPOLLIN ? POLLIN : 0) | (evs[k].events & EPOLLOUT ? POLLOUT : 0) |
					(evs[k].events & EPOLLERR ? POLLERR : 0) | (evs[k].events & EPOLLHUP ? POLLHUP : 0));

		if (i == HANDOFF_TAG) {
			int j;

			if (read(l->handoff[0], &j, sizeof j) == sizeof j && j >= 0 && j < l->sessions)
				take_over(l, j);
			continue;
		}
		s = &l->s[i];
		if (live(s) && ws_client_on_ready(s->ws, revents) != 0 && s->state == S_WAITING) {
			snprintf(s->failure, sizeof s->failure, "connection lost before the prompt");
			s->state = S_FAILED;
		}
		if (live(s))
			flush(l, s, (int)i);
		else
			let_go(l, s);
	}
}

/* Sessions the main loop owns in state st (an opener's session is counted once handed). */
static int count(const struct load *l, enum state st)
{
	int n = 0;

	for (int i = 0; i < l->sessions; i++)
		n += l->s[i].handed && l->s[i].state == st;
	return n;
}

/* Opens per second: the ready sessions over the time from the first connect to the last
 * prompt. */
static void report_opened(struct load *l, long long t0)
{
	long long t_end = t0 + 1;

	long long *hello = calloc((size_t)l->sessions, sizeof *hello);
	long long *prompt = calloc((size_t)l->sessions, sizeof *prompt);
	size_t nh = 0, np = 0;
	int ready = count(l, S_READY), failed = l->sessions - ready;

	for (int i = 0; hello && prompt && i < l->sessions; i++) {
		if (l->s[i].t_hello)
			hello[nh++] = l->s[i].t_hello - l->s[i].t_start;
		if (l->s[i].t_prompt) {
			prompt[np++] = l->s[i].t_prompt - l->s[i].t_start;
			if (l->s[i].t_prompt > t_end)
				t_end = l->s[i].t_prompt;
		}
	}
	printf("{\"event\":\"opened\",\"sessions\":%d,\"ready\":%d,\"failed\":%d,\"openers\":%d,"
	       "\"seconds\":%.2f,\"opensPerSecond\":%.1f,", l->sessions, ready, failed, l->openers,
	       (t_end - t0) / 1e6, ready / ((t_end - t0) / 1e6));
	print_spread("openToHelloMs", hello, nh);
	putchar(',');
	print_spread("openToPromptMs", prompt, np);
	printf(",\"firstFailure\":");
	for (int i = 0; i < l->sessions; i++)
		if (l->s[i].state != S_READY) {
			json_t *msg = json_string(l->s[i].failure[0] ? l->s[i].failure : "no prompt in time");
			char *text = json_dumps(msg, JSON_ENCODE_ANY);

			printf("%s}\n", text ? text : "null");
			free(text);
			json_decref(msg);
			goto out;
		}
	printf("null}\n");
out:
	fflush(stdout);
	free(hello);
	free(prompt);
}

static int run(struct load *l)
{
	struct epoll_event *evs = calloc(EPOLL_BATCH, sizeof *evs);
	struct epoll_event handoff = { .events = EPOLLIN, .data.u32 = HANDOFF_TAG };
	pthread_t *threads = calloc((size_t)l->openers, sizeof *threads);
	long long t0 = now_us(), deadline = t0 + (long long)l->deadline_s * 1000000, t;
	int started = 0, rc = 1;

	if (!evs || !threads || epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->handoff[0], &handoff) != 0)
		goto done;
	for (; started < l->openers; started++)
		if (pthread_create(&threads[started], NULL, opener, l) != 0)
			goto done;
	/* Open: until every session is ready or failed. */
	while ((t = now_us()) < deadline &&
	       count(l, S_READY) + count(l, S_FAILED) + count(l, S_ENDED) < l->sessions)
		turn(l, evs, 20);
	report_opened(l, t0);
	/* The driver measures the sessions at rest first (bench/scale.mjs reads every bridge's
	 * /proc in the thread that also runs the apiserver fake): typing meanwhile would time
	 * the harness. */
	if (l->wait_go) {
		char line[16];

		fflush(stdout);
		if (!fgets(line, sizeof line, stdin))
			goto done;
	}
	/* Type: every ready session, its keystrokes spread over the interval. */
	t = now_us();
	l->typing_start = t;
	for (int i = 0; i < l->sessions; i++) {
		l->s[i].keys_left = l->keys;
		l->s[i].next_key = t + (long long)l->interval_ms * 1000 * i / l->sessions;
		/* Pings spread as browsers' are: after --wait-go every session's ping was due
		 * at once, and 500 at the same instant made the keystrokes of seconds 0 and 15
		 * wait for them. */
		l->s[i].next_ping = t + PING_EVERY_US * i / l->sessions;
	}
	l->typing = true;
	for (;;) {
		bool busy = false;

		for (int i = 0; i < l->sessions && !busy; i++)
			busy = live(&l->s[i]) && l->s[i].state == S_READY && (l->s[i].keys_left > 0 || l->s[i].key_sent);
		if (!busy || now_us() >= deadline)
			break;
		turn(l, evs, 20);
	}
	printf("{\"event\":\"typed\",\"sessions\":%d,\"keystrokes\":%zu,\"lost\":%d,",
	       count(l, S_READY), l->rtt_count, l->keys_lost);
	print_spread("keystrokeRoundTripMs", l->rtt, l->rtt_count);
	{
		int last = SLOW_SECONDS - 1;

		while (last > 0 && !l->slow_by_second[last])
			last--;
		printf(",\"over10msBySecond\":[");
		for (int i = 0; i <= last; i++)
			printf("%s%d", i ? "," : "", l->slow_by_second[i]);
		printf("]}\n");
	}
	fflush(stdout);
	/* Hold (--hold-s): the sessions stay open and idle, for measuring something else
	 * against that many live terminals (bench/open_profile.mjs). */
	for (t = now_us(); now_us() - t < (long long)l->hold_s * 1000000;)
		turn(l, evs, 200);
	/* Close: a close frame each, then wait for the ends. */
	l->typing = false;
	for (int i = 0; i < l->sessions; i++)
		if (live(&l->s[i]) && send_text(&l->s[i], "{\"type\":\"close\"}") == 0)
			flush(l, &l->s[i], i);
	t = now_us();
	for (;;) {
		int open = 0;

		for (int i = 0; i < l->sessions; i++)
			open += live(&l->s[i]);
		if (open == 0 || now_us() - t > 60LL * 1000000)
			break;
		turn(l, evs, 20);
	}
	printf("{\"event\":\"closed\",\"ended\":%d,\"seconds\":%.2f}\n", count(l, S_ENDED), (now_us() - t) / 1e6);
	rc = 0;
done:
	for (int i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	free(threads);
	free(evs);
	return rc;
}

static void usage(FILE *out)
{
	fputs("usage: scale-load --url ws://127.0.0.1:PORT/PATH --origin ORIGIN [--sessions N]\n"
	      "                  [--openers N] [--keys N] [--interval-ms N] [--deadline-s N]\n"
	      "                  [--hold-s N] [--wait-go]\n"
	      "  (the cookie comes from PERISCOPE_BENCH_COOKIE)\n", out);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "url", required_argument, NULL, 'u' }, { "origin", required_argument, NULL, 'o' },
		{ "sessions", required_argument, NULL, 's' }, { "openers", required_argument, NULL, 'p' },
		{ "keys", required_argument, NULL, 'k' }, { "interval-ms", required_argument, NULL, 'i' },
		{ "deadline-s", required_argument, NULL, 'd' }, { "hold-s", required_argument, NULL, 'H' },
		{ "wait-go", no_argument, NULL, 'g' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct load l = { .sessions = 500, .openers = 16, .keys = 20, .interval_ms = 1000, .deadline_s = 600 };
	int opt, rc = 2;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'u': l.url = optarg; break;
		case 'o': l.origin = optarg; break;
		case 's': l.sessions = atoi(optarg); break;
		case 'p': l.openers = atoi(optarg); break;
		case 'k': l.keys = atoi(optarg); break;
		case 'i': l.interval_ms = atoi(optarg); break;
		case 'd': l.deadline_s = atoi(optarg); break;
		case 'H': l.hold_s = atoi(optarg); break;
		case 'g': l.wait_go = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	l.cookie = getenv("PERISCOPE_BENCH_COOKIE");
	if (!l.url || !l.origin || !l.cookie || l.sessions < 1 || l.sessions > MAX_SESSIONS ||
	    l.openers < 1 || l.keys < 0 || l.interval_ms < 1 || l.deadline_s < 1 || l.hold_s < 0 ||
	    l.hold_s > 3600) {
		usage(stderr);
		return 2;
	}
	if (strncmp(l.url, "ws://127.0.0.1:", 15) != 0) {
		fputs("scale-load: loopback only (ws://127.0.0.1:PORT/...)\n", stderr);
		return 2;
	}
	l.rtt_cap = (size_t)l.sessions * (size_t)l.keys + 1;
	l.s = calloc((size_t)l.sessions, sizeof *l.s);
	l.rtt = calloc(l.rtt_cap, sizeof *l.rtt);
	l.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!l.s || !l.rtt || l.epfd < 0 || pipe(l.handoff) != 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		goto done;
	rc = run(&l);
	for (int i = 0; i < l.sessions; i++)
		ws_client_free(l.s[i].ws);
	curl_global_cleanup();
done:
	free(l.s);
	free(l.rtt);
	return rc;
}
