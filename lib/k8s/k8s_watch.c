#include "k8s/k8s_watch.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/timeutil.h"

/* A watch may run at most this long before it is started again (the reflector picks a
 * random timeout between 5 and 10 minutes: minWatchTimeout); here the caller's deadline
 * usually comes first. */
#define WATCH_MAX_SECONDS 300
#define RV_MAX 64

struct relay {
	int (*on_event)(void *ud, const char *type, json_t *object);
	void *ud;
	char rv[RV_MAX];
	long error_code;             /* an ERROR event's Status code, 0 if none */
	char error_text[200];
	int result;
};

enum { STOP_ERROR_EVENT = 1000 };

static void keep_rv(struct relay *r, json_t *object)
{
	const char *rv = json_string_value(json_object_get(json_object_get(object, "metadata"),
							   "resourceVersion"));

	if (rv && strlen(rv) < RV_MAX)
		snprintf(r->rv, sizeof r->rv, "%s", rv);
}

/* reflector.go watchHandler: ERROR ends the watch with the Status as its error, BOOKMARK
 * only moves the resourceVersion, everything else is handed on and moves it too. */
static int relay_event(void *ud, const char *type, json_t *object)
{
	struct relay *r = ud;
	int rc;

	if (!type)
		return 0;
	if (strcmp(type, "ERROR") == 0) {
		const char *msg = json_string_value(json_object_get(object, "message"));

		r->error_code = (long)json_integer_value(json_object_get(object, "code"));
		snprintf(r->error_text, sizeof r->error_text, "%s", msg ? msg : "an ERROR event");
		return STOP_ERROR_EVENT;
	}
	keep_rv(r, object);
	if (strcmp(type, "BOOKMARK") == 0)
		return 0;
	rc = r->on_event(r->ud, type, object);
	if (rc != 0)
		r->result = rc;
	return rc;
}

long k8s_watch_backoff_ms(int n, double r)
{
	long base = K8S_WATCH_BACKOFF_INITIAL_MS;

	for (int i = 0; i < n && base < K8S_WATCH_BACKOFF_MAX_MS; i++)
		base *= 2;
	if (base > K8S_WATCH_BACKOFF_MAX_MS)
		base = K8S_WATCH_BACKOFF_MAX_MS;
	return base + (long)((double)base * (r < 0 ? 0 : r >= 1 ? 0.999 : r));
}

/* Waits ms (not past the deadline) while still serving the caller's descriptors.
 * 0, or -2 when the caller gave up. */
static int pause_ms(const struct k8s_client *k, long ms, long long deadline_ms)
{
	long long until = monotonic_ms() + ms;

	if (until > deadline_ms)
		until = deadline_ms;
	while (monotonic_ms() < until) {
		long long left = until - monotonic_ms();

		if (k->wait) {
			struct pollfd fds[HTTP_WAIT_MAX_FDS];
			int n = k->wait->fill(k->wait->ud, fds);

			if (poll(fds, (nfds_t)n, (int)(left < 200 ? left : 200)) < 0 && errno != EINTR)
				return 0;
			if (k->wait->serve(k->wait->ud, fds, n) != 0)
				return -2;
		} else {
			struct timespec ts = { .tv_sec = left / 1000, .tv_nsec = (left % 1000) * 1000000 };
			nanosleep(&ts, NULL);
		}
	}
	return 0;
}

static bool transient_status(long status)
{
	return status == 429 || status >= 500;
}

/* LIST: every item as ADDED, and the list's resourceVersion. 0; 1 transient; 410 Gone
 * cannot happen without a resourceVersion; -1 final; or on_event's non-zero result via
 * r->result (returned as 2). */
static int list(const struct k8s_client *k, const char *path, struct relay *r, char *err, size_t errlen,
		int *abandoned)
{
	struct k8s_response resp;
	const char *rv;
	json_t *item;
	size_t i;
	int rc = -1;

	if (k8s_call(k, "GET", path, NULL, &resp, err, errlen) != 0)
		return 1;
	if (resp.abandoned) {
		*abandoned = 1;
		goto done;
	}
	if (resp.status != 200) {
		snprintf(err, errlen, "list refused: HTTP %ld: %s", resp.status, k8s_status_text(&resp));
		rc = transient_status(resp.status) ? 1 : -1;
		goto done;
	}
	rv = json_string_value(json_object_get(json_object_get(resp.body, "metadata"), "resourceVersion"));
	snprintf(r->rv, sizeof r->rv, "%s", rv && strlen(rv) < RV_MAX ? rv : "");
	rc = 0;
	json_array_foreach(json_object_get(resp.body, "items"), i, item) {
		int e = r->on_event(r->ud, "ADDED", item);

		if (e != 0) {
			r->result = e;
			rc = 2;
			break;
		}
	}
done:
	k8s_response_clear(&resp);
	return rc;
}

int k8s_watch_until(const struct k8s_client *k, const char *path, long long deadline_ms,
		    int (*on_event)(void *ud, const char *type, json_t *object), void *ud,
		    struct k8s_watch_stats *stats, char *err, size_t errlen)
{
	struct relay r = { .on_event = on_event, .ud = ud };
	struct k8s_watch_stats local = { 0 };
	bool need_list = true;
	int failures = 0;
	unsigned seed = (unsigned)monotonic_ms();

	if (!stats)
		stats = &local;
	memset(stats, 0, sizeof *stats);
	while (monotonic_ms() < deadline_ms) {
		struct k8s_response resp;
		struct buf wpath;
		int left = (int)((deadline_ms - monotonic_ms() + 999) / 1000), rc, abandoned = 0;
		char werr[256] = "";

		if (need_list) {
			stats->lists++;
			rc = list(k, path, &r, werr, sizeof werr, &abandoned);
			if (abandoned)
				return -2;
			if (rc == 2)
				return r.result;
			if (rc < 0) {
				snprintf(err, errlen, "%s", werr);
				return -1;
			}
			if (rc == 1) {
				snprintf(stats->last_error, sizeof stats->last_error, "%s", werr);
				if (pause_ms(k, k8s_watch_backoff_ms(failures++, rand_r(&seed) / (RAND_MAX + 1.0)),
					     deadline_ms) != 0)
					return -2;
				continue;
			}
			need_list = false;
		}
		buf_init(&wpath, 8192);
		if (buf_printf(&wpath, "%s%sallowWatchBookmarks=true%s%s", path, strchr(path, '?') ? "&" : "?",
			       r.rv[0] ? "&resourceVersion=" : "", r.rv) != 0) {
			buf_free(&wpath);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		stats->watches++;
		r.error_code = 0;
		rc = k8s_watch(k, wpath.data, left > WATCH_MAX_SECONDS ? WATCH_MAX_SECONDS : left > 0 ? left : 1,
			       relay_event, &r, &resp, werr, sizeof werr);
		buf_free(&wpath);
		abandoned = resp.abandoned;
		if (rc != 0 && rc != -1 && rc != STOP_ERROR_EVENT) {
			k8s_response_clear(&resp);
			return rc;                       /* the caller's answer */
		}
		if (abandoned) {
			k8s_response_clear(&resp);
			return -2;
		}
		if (rc == 0) {
			/* The server ended the stream (its timeout): watch on from where it was. */
			k8s_response_clear(&resp);
			failures = 0;
			continue;
		}
		if (rc == STOP_ERROR_EVENT || resp.status == 410) {
			long code = rc == STOP_ERROR_EVENT ? r.error_code : resp.status;

			k8s_response_clear(&resp);
			if (code == 410) {
				/* reflector.go: isExpiredError → list again without a resourceVersion. */
				stats->relists++;
				need_list = true;
				r.rv[0] = '\0';
				continue;
			}
			snprintf(werr, sizeof werr, "watch ERROR event %ld: %s", code, r.error_text);
			if (!transient_status(code)) {
				snprintf(err, errlen, "%s", werr);
				return -1;
			}
		} else if (resp.status && !transient_status(resp.status)) {
			k8s_response_clear(&resp);
			snprintf(err, errlen, "%s", werr);
			return -1;
		} else {
			k8s_response_clear(&resp);
		}
		/* A reset connection, a 5xx or 429: watch again from the last resourceVersion. */
		stats->retries++;
		snprintf(stats->last_error, sizeof stats->last_error, "%s", werr);
		if (pause_ms(k, k8s_watch_backoff_ms(failures++, rand_r(&seed) / (RAND_MAX + 1.0)),
			     deadline_ms) != 0)
			return -2;
	}
	return 0;
}
