/* A watch that survives the ways a watch ends, as client-go's reflector does
 * (tools/cache/reflector.go ListAndWatch, watchHandler): list first (each item handed on
 * as ADDED), then watch from the list's resourceVersion; a stream that ends is watched
 * again from the last resourceVersion seen; a connection reset, a 5xx or a 429 is watched
 * again after a backoff (800 ms doubling to 30 s, with jitter: NewReflector's
 * NewExponentialBackoffManager); an ERROR event or answer with 410 Gone ("too old resource
 * version") lists again. Any other refusal (401, 403, 404...) is final. */
#ifndef PERISCOPE_K8S_WATCH_H
#define PERISCOPE_K8S_WATCH_H

#include <jansson.h>
#include <stddef.h>

#include "k8s/k8s_client.h"

#define K8S_WATCH_BACKOFF_INITIAL_MS 800
#define K8S_WATCH_BACKOFF_MAX_MS 30000

struct k8s_watch_stats {
	int lists;               /* LIST calls made */
	int watches;             /* WATCH calls made */
	int retries;             /* watches started again after a failure */
	int relists;             /* lists made again after 410 Gone */
	char last_error[256];    /* the last transient failure, "" if none */
};

/* path: the collection (with its selectors), e.g.
 * /api/v1/namespaces/ns/pods?fieldSelector=metadata.name%3Dx. on_event(ud, type, object)
 * for every object (ADDED from a list, then the watch's events; never BOOKMARK or ERROR)
 * until it returns non-zero (returned here), or deadline_ms (monotonic) passes (0).
 * -1 with err on a final refusal; -2 when the browser left (wait->serve gave up). */
int k8s_watch_until(const struct k8s_client *k, const char *path, long long deadline_ms,
		    int (*on_event)(void *ud, const char *type, json_t *object), void *ud,
		    struct k8s_watch_stats *stats, char *err, size_t errlen);

/* The backoff before attempt n (0-based): min(max, initial * 2^n), plus up to as much
 * again of jitter (wait.Jitter with factor 1.0); r in [0,1). */
long k8s_watch_backoff_ms(int n, double r);

#endif
