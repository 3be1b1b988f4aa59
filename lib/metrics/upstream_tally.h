/* Upstream requests counted in the process that makes them, by service and status class,
 * until they are added to the shared counters (metrics_upstream_flush): a busy bridge then
 * writes its counts at each heartbeat and at close, not once per request. The tally is
 * owned by its caller (a FastCGI worker, a bridge's session) and handed to the clients. */
#ifndef PERISCOPE_UPSTREAM_TALLY_H
#define PERISCOPE_UPSTREAM_TALLY_H

enum upstream_service {
	UPSTREAM_NONE = 0,      /* not counted */
	UPSTREAM_IDP,
	UPSTREAM_APISERVER,
	UPSTREAM_STS,
	UPSTREAM_SSM,
	UPSTREAM_SSMMESSAGES,
	UPSTREAM_EKS,
	UPSTREAM_SERVICES
};

/* Classes: 1xx .. 5xx by the status's first digit, and "error" for no answer at all
 * (connection refused, timeout, TLS failure). */
#define UPSTREAM_CLASSES 6

struct upstream_tally {
	long long n[UPSTREAM_SERVICES][UPSTREAM_CLASSES];
};

/* status: the HTTP status of the answer, or <= 0 when none arrived. NULL tally: nothing. */
void upstream_tally_record(struct upstream_tally *t, enum upstream_service service, long status);
const char *upstream_service_name(enum upstream_service service);
/* "error", "1xx", ..., "5xx". */
const char *upstream_class_name(int cls);

#endif
