/* The client side of the SSM Session Manager data channel as a state machine
 * (ssm-protocol.md §D.2, §D.5-D.14). It owns no socket and reads no clock: the caller
 * hands it every binary WebSocket message it receives and the current monotonic time,
 * and takes from it the binary messages to send, the terminal output bytes (in order,
 * once each) and a few events. So wsbridge drives it from its poll loop and the tests
 * drive it in memory.
 *
 * What it does:
 * - input: keystrokes are queued (bounded) and sent as input_stream_data PayloadType 1 in
 *   chunks of at most 1 KiB, each with the next sequence number, only once the session is
 *   live and MGS has not paused publication. Every sent stream message stays in a bounded
 *   window until acknowledged; each one is resent (identical bytes) when unacknowledged
 *   for longer than the RTO (TCP-like estimate, 200 ms initially, at most 1 s) doubled per
 *   resend, capped at 1 s. A full window stops taking input (backpressure).
 * - output: every output_stream_data is acknowledged, duplicates again; payloads are
 *   delivered strictly in sequence order through a bounded reorder buffer; a message too
 *   far ahead, or arriving when there is no room, is dropped unacknowledged (the agent
 *   resends it).
 * - handshake: a HandshakeRequest is answered; non-shell session types are declined
 *   (Unsupported) and reported as an event carrying an error code; KMSEncryption is done
 *   with the caller's KMS data key when opts.kms_supported (else declined), after which
 *   Output payloads are AES-GCM both ways (aws/ssm_cipher.h). The
 *   session is live on HandshakeComplete, or on the first output when the agent does no
 *   handshake; then the terminal size is sent, then queued input.
 * - channel_closed ends the session with an event carrying MGS's reason.
 * All buffers are allocated once in ssm_session_new; on the stream path nothing allocates
 * except Jansson's JSON tree of each acknowledgement parsed (acks sent are written by hand,
 * MessageIds come from a per-session pool of getrandom bytes). */
#ifndef PERISCOPE_SSM_SESSION_H
#define PERISCOPE_SSM_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "aws/ssm_cipher.h"
#include "aws/ssm_message.h"

#define SSM_CLIENT_VERSION "1.2.0.0"
#define SSM_INPUT_CHUNK 1024           /* payload bytes per keystroke message */
#define SSM_SEND_PAYLOAD_MAX 4096      /* largest payload this client sends */
#define SSM_REORDER_PAYLOAD_MAX 4096   /* largest out-of-order payload kept */
#define SSM_RTO_INITIAL_MS 200
#define SSM_RTO_MAX_MS 1000
#define SSM_MAX_RESENDS 300            /* ~5 min at the 1 s cap, then SSM_EVENT_STALLED */
#define SSM_DEFAULT_COLS 300           /* the reference client's size when it knows none */
#define SSM_DEFAULT_ROWS 100

/* Error codes for the browser's `error` frame. */
#define SSM_CODE_KMS_UNSUPPORTED "E_NODE_SHELL_KMS_UNSUPPORTED"
#define SSM_CODE_KMS_FAILED "E_NODE_SHELL_KMS_FAILED"
#define SSM_CODE_HANDSHAKE_FAILED "E_NODE_SHELL_HANDSHAKE_FAILED"
#define SSM_CODE_STALLED "E_NODE_SHELL_STALLED"
#define SSM_CODE_INTERNAL "E_NODE_SHELL_INTERNAL"

struct ssm_session;

struct ssm_session_opts {
	const char *session_id;       /* StartSession's SessionId (for closing messages) */
	const char *token;            /* StartSession's TokenValue: a secret, never logged */
	const char *client_version;   /* NULL: SSM_CLIENT_VERSION */
	/* Wall clock for the CreatedDate header field, ms since the epoch. NULL: now_ms(). */
	long long (*wall_clock_ms)(void *ctx);
	void *clock_ctx;
	uint32_t cols, rows;          /* initial terminal size; 0: 300x100 */
	unsigned send_window;         /* unacked input messages kept; 0: 32 (max 4096) */
	unsigned reorder_window;      /* out-of-order output messages kept; 0: 64 (max 4096) */
	unsigned out_queue;           /* messages waiting to be sent; 0: 32 (min 4) */
	size_t input_buffer;          /* input bytes waiting to be sent; 0: 16 KiB */
	size_t output_buffer;         /* output bytes waiting for the caller; 0: 64 KiB
				       * (at least SSM_REORDER_PAYLOAD_MAX) */
	int kms_supported;            /* answer KMSEncryption (SSM_EVENT_KMS_KEY_NEEDED) instead
				       * of declining it */
};

enum ssm_session_state {
	SSM_STATE_STARTING,      /* waiting for the agent's first message */
	SSM_STATE_HANDSHAKING,   /* HandshakeResponse sent, waiting for HandshakeComplete */
	SSM_STATE_LIVE,          /* size and input flow */
	SSM_STATE_FAILED,        /* the handshake was declined: the session cannot go on */
	SSM_STATE_CLOSED,        /* channel_closed received */
};

enum ssm_event_type {
	SSM_EVENT_LIVE,          /* text: HandshakeComplete's CustomerMessage (may be "") */
	SSM_EVENT_KMS_DECLINED,  /* code SSM_CODE_KMS_UNSUPPORTED; text for the user */
	SSM_EVENT_KMS_KEY_NEEDED, /* text: the KMS key id; answer with ssm_session_kms_key or
				   * ssm_session_kms_failed (the agent waits 15 s) */
	SSM_EVENT_KMS_FAILED,    /* code SSM_CODE_KMS_FAILED: the data key could not be had */
	SSM_EVENT_HANDSHAKE_FAILED, /* code SSM_CODE_HANDSHAKE_FAILED; text for the user */
	SSM_EVENT_CLOSED,        /* text: channel_closed's Output (may be ""); session_id */
	SSM_EVENT_STALLED,       /* code SSM_CODE_STALLED: the peer stopped acknowledging */
	SSM_EVENT_ERROR,         /* code SSM_CODE_INTERNAL: this client failed; session over */
};

struct ssm_event {
	enum ssm_event_type type;
	const char *code;        /* NULL for LIVE and CLOSED */
	char text[1024];
	char session_id[256];
};

struct ssm_session_stats {
	uint64_t bytes_in;           /* output payload bytes delivered to the caller */
	uint64_t bytes_out;          /* input payload bytes sent (first transmissions) */
	uint64_t messages_in;        /* output stream messages accepted (once each) */
	uint64_t messages_out;       /* input stream messages sent (first transmissions) */
	uint64_t retransmits;        /* input messages sent again */
	uint64_t duplicates;         /* output messages seen again (and re-acknowledged) */
	uint64_t dropped_window;     /* output too far ahead or no room: left to the agent */
	uint64_t dropped_invalid;    /* frames that failed decoding or validation */
	uint64_t acks_sent;
	uint64_t acks_received;
	long long rto_ms;            /* current retransmission timeout */
};

/* Returns NULL (and a message in err) on bad options or out of memory. */
struct ssm_session *ssm_session_new(const struct ssm_session_opts *opts, char *err,
				    size_t errlen);
void ssm_session_free(struct ssm_session *s);

/* The open-data-channel text frame (§D.2), with a fresh RequestId each call (so it also
 * serves a reconnect) and the same ClientId. token NULL: the one from the options. A
 * malloc'd string to free; it contains the token, so never log it. */
char *ssm_session_open_message(struct ssm_session *s, const char *token, char *err,
			       size_t errlen);

/* One binary (or text) WebSocket message from MGS. Malformed messages are counted and
 * dropped, as peers do; -1 only on an internal failure (also reported as an
 * SSM_EVENT_ERROR). */
int ssm_session_on_binary(struct ssm_session *s, const uint8_t *data, size_t len,
			  long long now_ms, char *err, size_t errlen);

/* Queues terminal input. Returns the number of bytes taken (fewer than len when the
 * input buffer is full: offer the rest later), or -1 once the session is closed or
 * failed. Input offered before the session is live waits for it. */
ssize_t ssm_session_send_input(struct ssm_session *s, const uint8_t *bytes, size_t len,
			       long long now_ms, char *err, size_t errlen);

/* Records the terminal size; it is sent when the session is live (at once if it is, and
 * not again when unchanged). Returns -1 for a zero dimension. */
int ssm_session_resize(struct ssm_session *s, uint32_t cols, uint32_t rows, long long now_ms,
		       char *err, size_t errlen);

/* KMS encryption (§D.8), when opts.kms_supported: after SSM_EVENT_KMS_KEY_NEEDED the
 * caller calls KMS GenerateDataKey (NumberOfBytes 64, EncryptionContext aws:ssm:SessionId,
 * aws:ssm:TargetId and, when the agent sent one, aws:ssm:RandomChallenge) with the
 * operator's credentials, then hands the plaintext key and the CiphertextBlob (base64) to
 * ssm_session_kms_key, or the reason to ssm_session_kms_failed (the agent then ends the
 * session). The key is used for AES-GCM from the answer on and not kept otherwise. */
int ssm_session_kms_request(const struct ssm_session *s, const char **key_id,
			    const char **challenge);
int ssm_session_kms_key(struct ssm_session *s, const uint8_t key[SSM_KMS_DATA_KEY_LEN],
			const char *ciphertext_b64, long long now_ms, char *err, size_t errlen);
int ssm_session_kms_failed(struct ssm_session *s, const char *reason, long long now_ms,
			   char *err, size_t errlen);

/* Retransmits what is due. Call it when ssm_session_next_timeout says so. */
int ssm_session_tick(struct ssm_session *s, long long now_ms, char *err, size_t errlen);

/* Milliseconds until ssm_session_tick has work (0: now), or -1 when nothing waits. */
long long ssm_session_next_timeout(const struct ssm_session *s, long long now_ms);

/* After reconnecting the WebSocket: every unacknowledged message is due at once. */
void ssm_session_reconnected(struct ssm_session *s, long long now_ms);

/* The next binary message to send, if any (returns 1 and points at it; 0 otherwise).
 * The pointer stays valid until ssm_session_pop_outgoing. */
int ssm_session_peek_outgoing(const struct ssm_session *s, const uint8_t **data, size_t *len);
void ssm_session_pop_outgoing(struct ssm_session *s);

/* Copies up to cap bytes of terminal output, in order; returns how many. Room made here
 * lets held-back output in (which may queue messages to send). */
size_t ssm_session_read_output(struct ssm_session *s, uint8_t *out, size_t cap);
size_t ssm_session_output_pending(const struct ssm_session *s);

/* Takes the next event; returns 1, or 0 when there is none. */
int ssm_session_next_event(struct ssm_session *s, struct ssm_event *ev);

enum ssm_session_state ssm_session_state(const struct ssm_session *s);
int ssm_session_paused(const struct ssm_session *s);
void ssm_session_get_stats(const struct ssm_session *s, struct ssm_session_stats *stats);

/* What the reference client prints when the channel closes (§D.11), e.g.
 * "\r\n\r\nExiting session with sessionId: X.\r\n\r\n", for a CLOSED event. */
void ssm_closed_banner(const struct ssm_event *ev, char *out, size_t cap);

#endif
