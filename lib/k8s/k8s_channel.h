/* The Kubernetes exec stream over WebSocket (k8s-protocol.md section 1): every data
 * message is [channel byte][payload]. We offer v5.channel.k8s.io then v4.channel.k8s.io
 * (binary framing, Status JSON on channel 3); only v5 can half-close stdin (255, 0).
 * Encoders write into a caller-owned struct buf that is reused from message to message. */
#ifndef PERISCOPE_K8S_CHANNEL_H
#define PERISCOPE_K8S_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define K8S_SUBPROTOCOL_V5 "v5.channel.k8s.io"
#define K8S_SUBPROTOCOL_V4 "v4.channel.k8s.io"

enum k8s_channel {
	K8S_CH_STDIN = 0,
	K8S_CH_STDOUT = 1,
	K8S_CH_STDERR = 2,
	K8S_CH_STATUS = 3,   /* metav1.Status JSON, read to the end of the stream */
	K8S_CH_RESIZE = 4,
	K8S_CH_CLOSE = 255,  /* v5 only: [255, channel] half-closes that input */
};

enum k8s_proto { K8S_PROTO_UNKNOWN = 0, K8S_PROTO_V4 = 4, K8S_PROTO_V5 = 5 };

/* The NULL-terminated offer, in preference order, for ws_client_opts.subprotocols. */
extern const char *const k8s_subprotocol_offer[];

/* The version of a negotiated subprotocol (K8S_PROTO_UNKNOWN for anything else). */
enum k8s_proto k8s_proto_from_subprotocol(const char *subprotocol);
/* Whether the protocol can signal end of stdin without closing the connection. */
bool k8s_proto_can_close_stdin(enum k8s_proto proto);

/* out = [0][data]. 0 or -1 (too large for out->max). */
int k8s_encode_stdin(struct buf *out, const void *data, size_t len);
/* out = [4]{"Width":cols,"Height":rows}\n, as kubectl sends it. cols and rows must be
 * 1..65535 (the server reads them as uint16). 0 or -1. */
int k8s_encode_resize(struct buf *out, unsigned cols, unsigned rows);
/* out = [255][0]. -1 under v4, which has no such signal (the caller has to keep stdin open
 * or close the whole connection). */
int k8s_encode_close_stdin(struct buf *out, enum k8s_proto proto);

/* An incoming message, split. payload points into the message. */
struct k8s_frame {
	uint8_t channel;
	const uint8_t *payload;
	size_t len;
};
/* 0, or -1 for an empty message (which carries no channel byte). Unknown channels decode
 * fine: the caller ignores them, as client-go does. */
int k8s_decode(const uint8_t *msg, size_t len, struct k8s_frame *frame);

enum k8s_status_kind {
	K8S_STATUS_SUCCESS,  /* status Success, or no status at all: exit code 0 */
	K8S_STATUS_EXIT,     /* Failure/NonZeroExitCode: exit_code holds the code */
	K8S_STATUS_FAILURE,  /* any other Failure: code/reason/message say what */
};

struct k8s_status {
	enum k8s_status_kind kind;
	int exit_code;        /* 0..255 */
	int code;             /* HTTP-like code from the Status (0 if absent) */
	char reason[64];      /* e.g. "NonZeroExitCode", "Forbidden" (truncated) */
	char message[512];    /* the server's text (truncated) */
};

/* Parses the accumulated channel-3 bytes of a v4/v5 stream, or the body of a non-101
 * answer; both are metav1.Status JSON. Empty input is success (exit 0). 0, or -1 with err
 * when the bytes are not a Status object. */
int k8s_status_parse(const char *json, size_t len, struct k8s_status *st,
		     char *err, size_t errlen);
/* One line for a person: "exit code 3", or "Forbidden (403): pods \"x\" is forbidden". */
void k8s_status_describe(const struct k8s_status *st, char *out, size_t outlen);

#endif
