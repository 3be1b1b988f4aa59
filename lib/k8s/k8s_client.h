/* Kubernetes REST calls (JSON over HTTPS/1.1) with the server's own identity from the
 * cluster's kubeconfig, and watches read as a stream of events. */
#ifndef PERISCOPE_K8S_CLIENT_H
#define PERISCOPE_K8S_CLIENT_H

#include "metrics/upstream_tally.h"
#include <jansson.h>
#include <stddef.h>

#include "net/http_client.h"
#include "k8s/kubeconfig.h"

struct k8s_client {
	struct kube_target *target;     /* its token is renewed here when it has a source */
	const struct http_wait *wait;   /* serve other descriptors while waiting, or NULL */
	long timeout_ms;                /* per call; 0 = 15 s */
	struct http_share *share;       /* keep the connection between calls, or NULL */
	struct upstream_tally *tally;   /* calls counted for the metrics (service apiserver), or NULL */
};

struct k8s_response {
	long status;
	json_t *body;                   /* the parsed answer (an object, or a Status), or NULL */
	int abandoned;                  /* wait->serve gave up */
	long long server_date;          /* the apiserver's clock (Date), Unix seconds; 0 if none */
	char warning[256];              /* the apiserver's first warning, "" if none */
};

void k8s_response_clear(struct k8s_response *r);

/* One call. A transport failure is -1 with err; any HTTP status is 0. body may be NULL.
 * A token that expires within a minute is renewed first; a 401 renews it and asks once
 * more (client-go's exec authenticator does the same on 401: plugin/pkg/client/auth/exec
 * exec.go Authenticator.maybeRefreshCreds via roundTripper). */
int k8s_call(const struct k8s_client *k, const char *method, const char *path, json_t *body,
	     struct k8s_response *out, char *err, size_t errlen);

/* The same with another Accept header: a list's metadata alone is
 * K8S_ACCEPT_METADATA_LIST (names and labels, without specs or secrets' data). */
int k8s_call_accept(const struct k8s_client *k, const char *method, const char *path,
		    const char *accept, json_t *body, struct k8s_response *out, char *err,
		    size_t errlen);
/* client-go's metadata client asks the same (k8s.io/client-go/metadata, without its protobuf
 * clause); an apiserver that does not convert (before 1.15) sends the whole list, which reads
 * the same. */
#define K8S_ACCEPT_METADATA_LIST "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1, application/json"

/* The message of a metav1.Status answer, or a fallback. */
const char *k8s_status_text(const struct k8s_response *r);

/* GET path?watch=1...: on_event(ud, type, object) for each event until it returns non-zero
 * (that value is returned), the server ends the watch (0), or timeout_s passes (0).
 * -1 on failure (r->status/body say why when the server refused). */
int k8s_watch(const struct k8s_client *k, const char *path, int timeout_s,
	      int (*on_event)(void *ud, const char *type, json_t *object), void *ud,
	      struct k8s_response *r, char *err, size_t errlen);

#endif
