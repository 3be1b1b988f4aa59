#include "aws/ssm_session.h"
#include "aws/ssm_ack_digest.h"
#include "aws/ssm_cipher.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/ssm_payloads.h"
#include "core/timeutil.h"

#define FRAME_MAX (SSM_HEADER_SIZE + SSM_SEND_PAYLOAD_MAX)
#define ACK_PAYLOAD_MAX 512
/* Queue slots kept free for what receiving needs (an ack, plus a HandshakeResponse), so
 * that sending input can never make us unable to acknowledge. */
#define OUTQ_RESERVE 2
#define EVENT_QUEUE 8
#define WINDOW_LIMIT 4096

/* A bounded byte FIFO (input waiting to be sent, output waiting for the caller). */
struct ring {
	uint8_t *data;
	size_t cap, head, len;
};

/* A sent stream message kept until acknowledged: its exact bytes are what is resent. */
struct sent_slot {
	int in_use;
	int64_t seq;
	long long last_sent;
	unsigned resends;
	size_t len;
	uint8_t *frame;     /* FRAME_MAX bytes */
};

/* An acknowledged output message that cannot be processed yet (a gap before it, or no
 * room for it). Index = sequence number modulo the window. */
struct held_slot {
	int used;
	int64_t seq;
	uint32_t payload_type;
	size_t len;         /* its payload: held_payload() */
};

struct ssm_session {
	char *session_id, *token, *client_version;
	char client_id[SSM_UUID_STR_LEN + 1];
	long long (*wall_clock_ms)(void *ctx);
	void *clock_ctx;
	long long now;

	enum ssm_session_state state;
	int paused, stall_reported;
	uint32_t cols, rows, sent_cols, sent_rows;
	int size_pending;

	/* sending: the window holds [base_seq, next_seq) */
	int64_t next_seq, base_seq;
	unsigned window_cap;
	struct sent_slot *window;
	double srtt_ms, rttvar_ms;
	long long rto_ms;

	/* receiving */
	int64_t expected;
	unsigned held_cap;
	struct held_slot *held;
	uint8_t *held_payloads;   /* held_cap payloads of SSM_REORDER_PAYLOAD_MAX bytes */

	/* messages to send: a ring of FRAME_MAX slots */
	unsigned outq_cap, outq_head, outq_count;
	size_t *outq_len;
	uint8_t *outq_frames;

	struct ring input, output;

	struct ssm_event events[EVENT_QUEUE];
	unsigned ev_head, ev_count;

	struct ssm_session_stats stats;
	struct ssm_uuid_pool uuids;   /* MessageIds: one per message sent */
	struct ssm_ack_digest ack_digest;
	uint8_t *arena;     /* every fixed buffer above, one allocation */

	/* KMS encryption (§D.8): the handshake request waits for the caller's data key. */
	int kms_supported, kms_waiting;
	struct ssm_handshake_request kms_req;
	struct ssm_cipher cipher;
	uint8_t crypt[SSM_SEND_PAYLOAD_MAX + SSM_GCM_OVERHEAD];
};

/* ---- small containers ---- */

static size_t ring_free(const struct ring *r)
{
	return r->cap - r->len;
}

static void ring_push(struct ring *r, const uint8_t *p, size_t n)
{
	size_t tail = (r->head + r->len) % r->cap;
	size_t first = n < r->cap - tail ? n : r->cap - tail;

	memcpy(r->data + tail, p, first);
	memcpy(r->data, p + first, n - first);
	r->len += n;
}

static size_t ring_pop(struct ring *r, uint8_t *out, size_t cap)
{
	size_t n = cap < r->len ? cap : r->len;
	size_t first = n < r->cap - r->head ? n : r->cap - r->head;

	memcpy(out, r->data + r->head, first);
	memcpy(out + first, r->data, n - first);
	r->head = (r->head + n) % r->cap;
	r->len -= n;
	/* Empty: start again at the front, so that only as much of the buffer as was ever held
	 * at once is touched (a ring that kept going round would make every page of it resident
	 * after a long output, and keep them so for the rest of the session). */
	if (r->len == 0)
		r->head = 0;
	return n;
}

static unsigned outq_free(const struct ssm_session *s)
{
	return s->outq_cap - s->outq_count;
}

static uint8_t *outq_tail(struct ssm_session *s)
{
	unsigned i = (s->outq_head + s->outq_count) % s->outq_cap;

	return s->outq_frames + (size_t)i * FRAME_MAX;
}

static void outq_commit(struct ssm_session *s, size_t len)
{
	s->outq_len[(s->outq_head + s->outq_count) % s->outq_cap] = len;
	s->outq_count++;
}

static unsigned window_free(const struct ssm_session *s)
{
	return s->window_cap - (unsigned)(s->next_seq - s->base_seq);
}

static void push_event(struct ssm_session *s, enum ssm_event_type type, const char *code,
		       const char *text, const char *session_id)
{
	struct ssm_event *ev;

	/* Each event kind happens at most a few times per session; a full queue means the
	 * caller stopped reading events, and the newest is the least useful. */
	if (s->ev_count == EVENT_QUEUE)
		return;
	ev = &s->events[(s->ev_head + s->ev_count++) % EVENT_QUEUE];
	memset(ev, 0, sizeof *ev);
	ev->type = type;
	ev->code = code;
	snprintf(ev->text, sizeof ev->text, "%s", text ? text : "");
	snprintf(ev->session_id, sizeof ev->session_id, "%s", session_id ? session_id : "");
}

/* An internal failure ends the session: the caller sees an event and, where it passed an
 * err buffer, -1. */
static int fault(struct ssm_session *s, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s", what);
	if (s->state != SSM_STATE_FAILED && s->state != SSM_STATE_CLOSED) {
		s->state = SSM_STATE_FAILED;
		push_event(s, SSM_EVENT_ERROR, SSM_CODE_INTERNAL, what, s->session_id);
	}
	return -1;
}

/* ---- building messages ---- */

static uint64_t created_date(struct ssm_session *s)
{
	long long ms = s->wall_clock_ms ? s->wall_clock_ms(s->clock_ctx) : now_ms();

	/* Receivers reject a zero CreatedDate. */
	return ms > 0 ? (uint64_t)ms : 1;
}

/* digest: the payload's SHA-256 when the caller has it, else NULL (computed here). */
static int encode(struct ssm_session *s, const char *type, int64_t seq, uint64_t flags,
		  uint32_t payload_type, const void *payload, size_t len, const uint8_t *digest,
		  uint8_t *frame, size_t *frame_len, char *err, size_t errlen)
{
	struct ssm_message m;

	memset(&m, 0, sizeof m);
	/* A bounded copy (snprintf's "%s" was ~600 instructions a message). */
	memcpy(m.message_type, type, strnlen(type, sizeof m.message_type - 1));
	m.schema_version = SSM_SCHEMA_VERSION;
	m.created_date_ms = created_date(s);
	m.sequence_number = seq;
	m.flags = flags;
	ssm_uuid_generate_pooled(&s->uuids, m.message_id);
	m.payload_type = payload_type;
	m.payload_length = (uint32_t)len;
	m.payload = payload;
	if (!digest)
		return ssm_message_encode(&m, frame, FRAME_MAX, frame_len, err, errlen);
	memcpy(m.payload_digest, digest, SSM_DIGEST_LEN);
	return ssm_message_encode_digested(&m, frame, FRAME_MAX, frame_len, err, errlen);
}

/* Acknowledges m; the caller made sure the out queue has room. */
static int queue_ack(struct ssm_session *s, const struct ssm_message *m, char *err,
		     size_t errlen)
{
	char payload[ACK_PAYLOAD_MAX];
	uint8_t digest[SSM_DIGEST_LEN];
	size_t plen, flen;
	char why[160];

	if (ssm_ack_build(m, payload, sizeof payload, &plen, why, sizeof why) != 0)
		return fault(s, why, err, errlen);
	if (ssm_ack_digest(&s->ack_digest, payload, plen, digest) != 0)
		return fault(s, "ssm ack: SHA-256 failed", err, errlen);
	if (encode(s, SSM_MT_ACK, 0, SSM_ACK_FLAGS, SSM_PT_NONE, payload, plen, digest,
		   outq_tail(s), &flen, why, sizeof why) != 0)
		return fault(s, why, err, errlen);
	outq_commit(s, flen);
	s->stats.acks_sent++;
	return 0;
}

/* Sends one input_stream_data with the next sequence number and keeps it for
 * retransmission; the caller made sure window and out queue have room. */
static int send_stream(struct ssm_session *s, uint32_t payload_type, const void *payload,
		       size_t len, char *err, size_t errlen)
{
	struct sent_slot *slot = &s->window[s->next_seq % s->window_cap];
	char why[160];
	size_t plain_len = len;

	/* In a KMS session the agent decrypts every Output it receives (datachannel.go
	 * processStreamDataMessage); Size and the handshake payloads stay plain. */
	if (s->cipher.on && payload_type == SSM_PT_OUTPUT) {
		size_t n;

		if (ssm_cipher_encrypt(&s->cipher, payload, len, s->crypt, sizeof s->crypt, &n) != 0)
			return fault(s, "cannot encrypt a payload", err, errlen);
		payload = s->crypt;
		len = n;
	}
	if (encode(s, SSM_MT_INPUT, s->next_seq, 0, payload_type, payload, len, NULL,
		   slot->frame, &slot->len, why, sizeof why) != 0)
		return fault(s, why, err, errlen);
	slot->in_use = 1;
	slot->seq = s->next_seq++;
	slot->last_sent = s->now;
	slot->resends = 0;
	memcpy(outq_tail(s), slot->frame, slot->len);
	outq_commit(s, slot->len);
	s->stats.messages_out++;
	if (payload_type == SSM_PT_OUTPUT)
		s->stats.bytes_out += plain_len;
	return 0;
}

/* ---- the handshake ---- */

static void fail_session(struct ssm_session *s, enum ssm_event_type type, const char *code,
			 const char *text)
{
	s->state = SSM_STATE_FAILED;
	push_event(s, type, code, text, s->session_id);
}

static void go_live(struct ssm_session *s, const char *customer_message)
{
	s->state = SSM_STATE_LIVE;
	s->size_pending = 1;
	push_event(s, SSM_EVENT_LIVE, NULL, customer_message, s->session_id);
}

static const char *first_error(const struct ssm_handshake_outcome *o)
{
	for (size_t i = 0; i < o->n_actions; i++)
		if (o->status[i] != SSM_ACTION_SUCCESS)
			return o->error[i];
	return NULL;
}

static const struct ssm_client_action *kms_action(const struct ssm_handshake_request *req)
{
	for (size_t i = 0; i < req->n_actions; i++)
		if (req->actions[i].kind == SSM_ACTION_KMS_ENCRYPTION)
			return &req->actions[i];
	return NULL;
}

static int wants_kms(const struct ssm_handshake_request *req)
{
	return kms_action(req) != NULL;
}

/* Answers the waiting KMS handshake: every SessionType decided as usual, KMSEncryption
 * with ciphertext (success) or with error (failure). */
static int answer_kms(struct ssm_session *s, const char *ciphertext_b64, const char *error,
		      char *err, size_t errlen)
{
	struct ssm_handshake_outcome outcome;
	char json[SSM_SEND_PAYLOAD_MAX], why[160];
	size_t n;
	const char *refused = NULL;

	ssm_handshake_decide(&s->kms_req, &outcome);
	outcome.kms_declined = 0;
	for (size_t i = 0; i < s->kms_req.n_actions; i++) {
		if (s->kms_req.actions[i].kind != SSM_ACTION_KMS_ENCRYPTION)
			continue;
		outcome.status[i] = ciphertext_b64 ? SSM_ACTION_SUCCESS : SSM_ACTION_FAILED;
		snprintf(outcome.error[i], sizeof outcome.error[i], "%s%s",
			 error ? "Failed to process action KMSEncryption: " : "", error ? error : "");
	}
	outcome.kms_ciphertext_b64 = ciphertext_b64;
	s->kms_waiting = 0;
	if (ssm_handshake_response_build(&s->kms_req, &outcome, s->client_version, json,
					 sizeof json, &n, why, sizeof why) != 0) {
		fail_session(s, SSM_EVENT_HANDSHAKE_FAILED, SSM_CODE_HANDSHAKE_FAILED,
			     "the SSM agent's handshake request is too large to answer");
		return 0;
	}
	if (send_stream(s, SSM_PT_HANDSHAKE_RESPONSE, json, n, err, errlen) != 0)
		return -1;
	refused = first_error(&outcome);
	if (refused)
		fail_session(s, ciphertext_b64 ? SSM_EVENT_HANDSHAKE_FAILED : SSM_EVENT_KMS_FAILED,
			     ciphertext_b64 ? SSM_CODE_HANDSHAKE_FAILED : SSM_CODE_KMS_FAILED,
			     refused);
	return 0;
}

int ssm_session_kms_key(struct ssm_session *s, const uint8_t key[SSM_KMS_DATA_KEY_LEN],
			const char *ciphertext_b64, long long now_ms, char *err, size_t errlen)
{
	s->now = now_ms;
	if (!s->kms_waiting || !ciphertext_b64 || !*ciphertext_b64) {
		snprintf(err, errlen, "no KMS handshake is waiting for a key");
		return -1;
	}
	if (outq_free(s) < 1 || window_free(s) < 1) {
		snprintf(err, errlen, "no room to answer the handshake yet");
		return -1;
	}
	/* From the successful answer on, Output payloads are encrypted both ways. */
	if (answer_kms(s, ciphertext_b64, NULL, err, errlen) != 0)
		return -1;
	if (s->state == SSM_STATE_FAILED)
		return 0;
	if (ssm_cipher_init(&s->cipher, key) != 0)
		return fault(s, "cannot set up AES-GCM with the KMS data key", err, errlen);
	return 0;
}

int ssm_session_kms_failed(struct ssm_session *s, const char *reason, long long now_ms,
			   char *err, size_t errlen)
{
	s->now = now_ms;
	if (!s->kms_waiting) {
		snprintf(err, errlen, "no KMS handshake is waiting for a key");
		return -1;
	}
	if (outq_free(s) < 1 || window_free(s) < 1) {
		snprintf(err, errlen, "no room to answer the handshake yet");
		return -1;
	}
	return answer_kms(s, NULL, reason && *reason ? reason : "KMS call failed", err, errlen);
}

int ssm_session_kms_request(const struct ssm_session *s, const char **key_id,
			    const char **challenge)
{
	const struct ssm_client_action *a = s->kms_waiting ? kms_action(&s->kms_req) : NULL;

	if (!a)
		return -1;
	*key_id = a->kms_key_id;
	*challenge = a->challenge;
	return 0;
}

/* EncChallengeRequest: the agent's random bytes under its key; decrypted and sent back
 * under ours (datachannel.go sendEncryptionChallenge, handleEncryptionChallengeResponse). */
static int on_challenge(struct ssm_session *s, const uint8_t *payload, size_t len, char *err,
			size_t errlen)
{
	uint8_t sealed[SSM_CHALLENGE_MAX], plain[SSM_CHALLENGE_MAX];
	uint8_t resealed[SSM_CHALLENGE_MAX + SSM_GCM_OVERHEAD];
	char json[SSM_SEND_PAYLOAD_MAX], why[160];
	size_t n, pn, rn;

	if (!s->cipher.on ||
	    ssm_challenge_parse(payload, len, sealed, sizeof sealed, &n, why, sizeof why) != 0 ||
	    ssm_cipher_decrypt(&s->cipher, sealed, n, plain, sizeof plain, &pn) != 0 ||
	    ssm_cipher_encrypt(&s->cipher, plain, pn, resealed, sizeof resealed, &rn) != 0 ||
	    ssm_challenge_build(resealed, rn, json, sizeof json, &n, why, sizeof why) != 0) {
		explicit_bzero(plain, sizeof plain);
		fail_session(s, SSM_EVENT_HANDSHAKE_FAILED, SSM_CODE_HANDSHAKE_FAILED,
			     "the SSM agent's encryption challenge could not be answered");
		return 0;
	}
	explicit_bzero(plain, sizeof plain);
	return send_stream(s, SSM_PT_ENC_CHALLENGE_RESPONSE, json, n, err, errlen);
}

static int on_handshake_request(struct ssm_session *s, const uint8_t *payload, size_t len,
				char *err, size_t errlen)
{
	struct ssm_handshake_request req;
	struct ssm_handshake_outcome outcome;
	char json[SSM_SEND_PAYLOAD_MAX], why[160];
	size_t n;
	const char *refused;

	if (ssm_handshake_request_parse(payload, len, &req, why, sizeof why) != 0) {
		fail_session(s, SSM_EVENT_HANDSHAKE_FAILED, SSM_CODE_HANDSHAKE_FAILED,
			     "the SSM agent sent a handshake request this gateway cannot read");
		return 0;
	}
	if (s->kms_supported && wants_kms(&req)) {
		/* The answer needs a KMS data key, which the caller fetches (a network call this
		 * state machine does not make): ssm_session_kms_key or ssm_session_kms_failed. */
		s->kms_req = req;
		s->kms_waiting = 1;
		s->state = SSM_STATE_HANDSHAKING;
		push_event(s, SSM_EVENT_KMS_KEY_NEEDED, NULL, kms_action(&s->kms_req)->kms_key_id,
			   s->session_id);
		return 0;
	}
	ssm_handshake_decide(&req, &outcome);
	if (ssm_handshake_response_build(&req, &outcome, s->client_version, json, sizeof json,
					 &n, why, sizeof why) != 0) {
		fail_session(s, SSM_EVENT_HANDSHAKE_FAILED, SSM_CODE_HANDSHAKE_FAILED,
			     "the SSM agent's handshake request is too large to answer");
		return 0;
	}
	/* Declines are answered too: the agent then ends the session at once instead of
	 * waiting 15 s for a reply. */
	if (send_stream(s, SSM_PT_HANDSHAKE_RESPONSE, json, n, err, errlen) != 0)
		return -1;
	refused = first_error(&outcome);
	if (outcome.kms_declined)
		fail_session(s, SSM_EVENT_KMS_DECLINED, SSM_CODE_KMS_UNSUPPORTED,
			     "this instance's Session Manager preferences require KMS encryption, "
			     "which this gateway does not support");
	else if (refused)
		fail_session(s, SSM_EVENT_HANDSHAKE_FAILED, SSM_CODE_HANDSHAKE_FAILED, refused);
	else if (s->state == SSM_STATE_STARTING)
		s->state = SSM_STATE_HANDSHAKING;
	return 0;
}

static void on_handshake_complete(struct ssm_session *s, const uint8_t *payload, size_t len)
{
	struct ssm_handshake_complete hc;
	char why[160];

	if (s->state != SSM_STATE_STARTING && s->state != SSM_STATE_HANDSHAKING)
		return;
	/* The message only carries a duration and a greeting: an unreadable one still
	 * completes the handshake. */
	if (ssm_handshake_complete_parse(payload, len, &hc, why, sizeof why) != 0)
		hc.customer_message[0] = '\0';
	go_live(s, hc.customer_message);
}

/* ---- receiving ---- */

static int is_output(uint32_t payload_type)
{
	return payload_type == SSM_PT_OUTPUT || payload_type == SSM_PT_STDERR ||
	       payload_type == SSM_PT_EXIT_CODE;
}

/* Whether an in-order message can be handled now; the ack (when still owed) and a
 * HandshakeResponse need room in the out queue and window. */
static int can_process(const struct ssm_session *s, uint32_t payload_type, size_t len,
		       unsigned acks)
{
	if (is_output(payload_type))
		return ring_free(&s->output) >= len && outq_free(s) >= acks;
	if (payload_type == SSM_PT_HANDSHAKE_REQUEST || payload_type == SSM_PT_ENC_CHALLENGE_REQUEST)
		return outq_free(s) >= acks + 1 && window_free(s) >= 1;
	return outq_free(s) >= acks;
}

static int process(struct ssm_session *s, uint32_t payload_type, const uint8_t *payload,
		   size_t len, char *err, size_t errlen)
{
	s->expected++;
	switch (payload_type) {
	case SSM_PT_OUTPUT:
	case SSM_PT_STDERR:
	case SSM_PT_EXIT_CODE:
		if (s->cipher.on) {
			size_t n;

			/* The agent encrypts Output, StdErr and ExitCode (datachannel.go
			 * SendStreamDataMessage). */
			if (len > sizeof s->crypt ||
			    ssm_cipher_decrypt(&s->cipher, payload, len, s->crypt, sizeof s->crypt,
					       &n) != 0)
				return fault(s, "an encrypted payload did not decrypt", err, errlen);
			payload = s->crypt;
			len = n;
		}
		ring_push(&s->output, payload, len);
		s->stats.bytes_in += len;
		/* Without a handshake, the first output is what makes the session live. */
		if (payload_type == SSM_PT_OUTPUT && s->state == SSM_STATE_STARTING)
			go_live(s, "");
		return 0;
	case SSM_PT_HANDSHAKE_REQUEST:
		return on_handshake_request(s, payload, len, err, errlen);
	case SSM_PT_HANDSHAKE_COMPLETE:
		on_handshake_complete(s, payload, len);
		return 0;
	case SSM_PT_ENC_CHALLENGE_REQUEST:
		return on_challenge(s, payload, len, err, errlen);
	default:
		/* The others are not sent to clients. Acknowledged and ignored. */
		return 0;
	}
}

/* A held message's payload, by the slot's place: no pointer is stored per slot, so that a
 * slot is written only when a message is held in it (a node shell's 4096 slots took 160 KiB
 * resident for the pointers alone). */
static uint8_t *held_payload(const struct ssm_session *s, const struct held_slot *h)
{
	return s->held_payloads + (size_t)(h - s->held) * SSM_REORDER_PAYLOAD_MAX;
}

/* Processes held messages that have become next in line, while there is room. */
static int drain(struct ssm_session *s, char *err, size_t errlen)
{
	while (s->state != SSM_STATE_CLOSED) {
		struct held_slot *h = &s->held[s->expected % s->held_cap];

		if (!h->used || h->seq != s->expected ||
		    !can_process(s, h->payload_type, h->len, 0))
			break;
		h->used = 0;
		if (process(s, h->payload_type, held_payload(s, h), h->len, err, errlen) != 0)
			return -1;
	}
	return 0;
}

static int on_stream(struct ssm_session *s, const struct ssm_message *m, char *err,
		     size_t errlen)
{
	int64_t seq = m->sequence_number;
	struct held_slot *h;

	/* Stream data means the agent is publishing again (what the agent itself assumes). */
	s->paused = 0;
	if (outq_free(s) < OUTQ_RESERVE) {
		/* Cannot even acknowledge: leave it to the agent's retransmission. */
		s->stats.dropped_window++;
		return 0;
	}
	if (seq < s->expected) {
		/* Our ack was lost or late: ack again, or the agent resends forever. */
		s->stats.duplicates++;
		return queue_ack(s, m, err, errlen);
	}
	if (seq - s->expected >= (int64_t)s->held_cap) {
		s->stats.dropped_window++;
		return 0;
	}
	h = &s->held[seq % s->held_cap];
	if (h->used) {
		s->stats.duplicates++;
		return queue_ack(s, m, err, errlen);
	}
	if (seq == s->expected && can_process(s, m->payload_type, m->payload_length, 1)) {
		s->stats.messages_in++;
		if (queue_ack(s, m, err, errlen) != 0 ||
		    process(s, m->payload_type, m->payload, m->payload_length, err, errlen) != 0)
			return -1;
		return drain(s, err, errlen);
	}
	if (m->payload_length > SSM_REORDER_PAYLOAD_MAX) {
		s->stats.dropped_window++;
		return 0;
	}
	h->used = 1;
	h->seq = seq;
	h->payload_type = m->payload_type;
	h->len = m->payload_length;
	memcpy(held_payload(s, h), m->payload, m->payload_length);
	s->stats.messages_in++;
	return queue_ack(s, m, err, errlen);
}

static void on_ack(struct ssm_session *s, const struct ssm_message *m)
{
	struct ssm_ack ack;
	struct sent_slot *slot;
	char why[160];
	double sample, delta;
	int64_t k;

	if (ssm_ack_parse(m->payload, m->payload_length, &ack, why, sizeof why) != 0) {
		s->stats.dropped_invalid++;
		return;
	}
	s->stats.acks_received++;
	s->paused = 0;
	k = ack.acked_sequence;
	/* Peers identify the acknowledged message by its sequence number alone (§D.5). */
	if (k < s->base_seq || k >= s->next_seq)
		return;
	slot = &s->window[k % s->window_cap];
	if (!slot->in_use || slot->seq != k)
		return;
	slot->in_use = 0;

	/* RTO estimate of §D.6 (RFC 6298 style), capped at SSM_RTO_MAX_MS. */
	sample = s->now > slot->last_sent ? (double)(s->now - slot->last_sent) : 0.0;
	delta = s->srtt_ms > sample ? s->srtt_ms - sample : sample - s->srtt_ms;
	s->rttvar_ms = 0.75 * s->rttvar_ms + 0.25 * delta;
	s->srtt_ms = 0.875 * s->srtt_ms + 0.125 * sample;
	s->rto_ms = (long long)(s->srtt_ms + (4 * s->rttvar_ms > 10 ? 4 * s->rttvar_ms : 10));
	if (s->rto_ms > SSM_RTO_MAX_MS)
		s->rto_ms = SSM_RTO_MAX_MS;

	while (s->base_seq < s->next_seq && !s->window[s->base_seq % s->window_cap].in_use)
		s->base_seq++;
}

static void on_channel_closed(struct ssm_session *s, const struct ssm_message *m)
{
	struct ssm_channel_closed cc;
	char why[160];

	if (ssm_channel_closed_parse(m->payload, m->payload_length, &cc, why, sizeof why) != 0)
		memset(&cc, 0, sizeof cc);
	s->state = SSM_STATE_CLOSED;
	push_event(s, SSM_EVENT_CLOSED, NULL, cc.output,
		   cc.session_id[0] ? cc.session_id : s->session_id);
}

/* ---- sending ---- */

static int pump(struct ssm_session *s, char *err, size_t errlen)
{
	uint8_t chunk[SSM_INPUT_CHUNK];
	char json[64], why[160];
	size_t n;

	if (drain(s, err, errlen) != 0)
		return -1;
	if (s->state != SSM_STATE_LIVE || s->paused)
		return 0;
	if (s->size_pending) {
		if (window_free(s) < 1 || outq_free(s) <= OUTQ_RESERVE)
			return 0;
		if (ssm_size_build(s->cols, s->rows, json, sizeof json, &n, why, sizeof why) != 0)
			return fault(s, why, err, errlen);
		if (send_stream(s, SSM_PT_SIZE, json, n, err, errlen) != 0)
			return -1;
		s->size_pending = 0;
		s->sent_cols = s->cols;
		s->sent_rows = s->rows;
	}
	while (s->input.len > 0 && window_free(s) >= 1 && outq_free(s) > OUTQ_RESERVE) {
		n = ring_pop(&s->input, chunk, sizeof chunk);
		if (send_stream(s, SSM_PT_OUTPUT, chunk, n, err, errlen) != 0)
			return -1;
	}
	return 0;
}

static long long resend_interval(const struct ssm_session *s, const struct sent_slot *slot)
{
	long long interval = s->rto_ms;

	for (unsigned i = 0; i < slot->resends && interval < SSM_RTO_MAX_MS; i++)
		interval *= 2;
	return interval < SSM_RTO_MAX_MS ? interval : SSM_RTO_MAX_MS;
}

static int retransmitting(const struct ssm_session *s)
{
	/* Nothing goes out while MGS says the agent is away; after a decline the
	 * HandshakeResponse must still reach the agent. */
	return !s->paused && s->state != SSM_STATE_CLOSED;
}

int ssm_session_tick(struct ssm_session *s, long long now, char *err, size_t errlen)
{
	s->now = now;
	if (retransmitting(s)) {
		for (int64_t seq = s->base_seq; seq < s->next_seq; seq++) {
			struct sent_slot *slot = &s->window[seq % s->window_cap];

			if (!slot->in_use || now - slot->last_sent <= resend_interval(s, slot))
				continue;
			if (outq_free(s) <= OUTQ_RESERVE)
				break;
			memcpy(outq_tail(s), slot->frame, slot->len);
			outq_commit(s, slot->len);
			slot->last_sent = now;
			slot->resends++;
			s->stats.retransmits++;
			if (slot->resends >= SSM_MAX_RESENDS && !s->stall_reported) {
				s->stall_reported = 1;
				push_event(s, SSM_EVENT_STALLED, SSM_CODE_STALLED,
					   "the SSM agent stopped acknowledging input",
					   s->session_id);
			}
		}
	}
	return pump(s, err, errlen);
}

long long ssm_session_next_timeout(const struct ssm_session *s, long long now)
{
	long long best = -1;

	if (!retransmitting(s))
		return -1;
	for (int64_t seq = s->base_seq; seq < s->next_seq; seq++) {
		const struct sent_slot *slot = &s->window[seq % s->window_cap];
		long long wait;

		if (!slot->in_use)
			continue;
		/* Due once strictly more than the interval has passed. */
		wait = slot->last_sent + resend_interval(s, slot) + 1 - now;
		if (wait < 0)
			wait = 0;
		if (best < 0 || wait < best)
			best = wait;
	}
	return best;
}

void ssm_session_reconnected(struct ssm_session *s, long long now)
{
	s->now = now;
	for (int64_t seq = s->base_seq; seq < s->next_seq; seq++) {
		struct sent_slot *slot = &s->window[seq % s->window_cap];

		if (slot->in_use)
			slot->last_sent = now - SSM_RTO_MAX_MS - 1;
	}
}

/* ---- public entry points ---- */

int ssm_session_on_binary(struct ssm_session *s, const uint8_t *data, size_t len,
			  long long now, char *err, size_t errlen)
{
	struct ssm_message m;
	char why[160];
	int rc = 0;

	s->now = now;
	if (s->state == SSM_STATE_CLOSED)
		return 0;
	if (ssm_message_decode(data, len, &m, why, sizeof why) != 0) {
		s->stats.dropped_invalid++;
		return 0;
	}
	if (strcmp(m.message_type, SSM_MT_OUTPUT) == 0)
		rc = on_stream(s, &m, err, errlen);
	else if (strcmp(m.message_type, SSM_MT_ACK) == 0)
		on_ack(s, &m);
	else if (strcmp(m.message_type, SSM_MT_CHANNEL_CLOSED) == 0)
		on_channel_closed(s, &m);
	else if (strcmp(m.message_type, SSM_MT_PAUSE_PUBLICATION) == 0)
		s->paused = 1;
	else if (strcmp(m.message_type, SSM_MT_START_PUBLICATION) == 0)
		s->paused = 0;
	/* Anything else (e.g. agent_session_state) is not for clients. */
	if (rc != 0)
		return -1;
	return pump(s, err, errlen);
}

ssize_t ssm_session_send_input(struct ssm_session *s, const uint8_t *bytes, size_t len,
			       long long now, char *err, size_t errlen)
{
	size_t n;

	s->now = now;
	if (s->state == SSM_STATE_FAILED || s->state == SSM_STATE_CLOSED) {
		snprintf(err, errlen, "ssm session: the session has ended");
		return -1;
	}
	n = len < ring_free(&s->input) ? len : ring_free(&s->input);
	ring_push(&s->input, bytes, n);
	if (pump(s, err, errlen) != 0)
		return -1;
	return (ssize_t)n;
}

int ssm_session_resize(struct ssm_session *s, uint32_t cols, uint32_t rows, long long now,
		       char *err, size_t errlen)
{
	s->now = now;
	if (cols == 0 || rows == 0) {
		snprintf(err, errlen, "ssm session: terminal size %ux%u is not valid", cols, rows);
		return -1;
	}
	s->cols = cols;
	s->rows = rows;
	if (s->state == SSM_STATE_LIVE && (cols != s->sent_cols || rows != s->sent_rows))
		s->size_pending = 1;
	return pump(s, err, errlen);
}

int ssm_session_peek_outgoing(const struct ssm_session *s, const uint8_t **data, size_t *len)
{
	if (s->outq_count == 0)
		return 0;
	*data = s->outq_frames + (size_t)s->outq_head * FRAME_MAX;
	*len = s->outq_len[s->outq_head];
	return 1;
}

void ssm_session_pop_outgoing(struct ssm_session *s)
{
	char why[160];

	if (s->outq_count == 0)
		return;
	s->outq_head = (s->outq_head + 1) % s->outq_cap;
	s->outq_count--;
	/* Empty: the next frame takes the first slot again (as ring_pop does), so the queue's
	 * slots past the most ever queued at once are never touched: going round the 256 slots
	 * of ~4 KiB made 1 MiB resident for the session's life for acks of ~200 bytes. */
	if (s->outq_count == 0)
		s->outq_head = 0;
	/* Room in the queue may let held messages and queued input go; a failure here has
	 * already become an SSM_EVENT_ERROR. */
	(void)pump(s, why, sizeof why);
}

size_t ssm_session_read_output(struct ssm_session *s, uint8_t *out, size_t cap)
{
	char why[160];
	size_t n = ring_pop(&s->output, out, cap);

	if (n > 0)
		(void)pump(s, why, sizeof why);   /* as in pop_outgoing */
	return n;
}

size_t ssm_session_output_pending(const struct ssm_session *s)
{
	return s->output.len;
}

int ssm_session_next_event(struct ssm_session *s, struct ssm_event *ev)
{
	if (s->ev_count == 0)
		return 0;
	*ev = s->events[s->ev_head];
	s->ev_head = (s->ev_head + 1) % EVENT_QUEUE;
	s->ev_count--;
	return 1;
}

enum ssm_session_state ssm_session_state(const struct ssm_session *s)
{
	return s->state;
}

int ssm_session_paused(const struct ssm_session *s)
{
	return s->paused;
}

void ssm_session_get_stats(const struct ssm_session *s, struct ssm_session_stats *stats)
{
	*stats = s->stats;
	stats->rto_ms = s->rto_ms;
}

char *ssm_session_open_message(struct ssm_session *s, const char *token, char *err,
			       size_t errlen)
{
	uint8_t request_id[SSM_UUID_LEN];
	char request_str[SSM_UUID_STR_LEN + 1];
	json_t *root;
	char *text = NULL;

	if (!token)
		token = s->token;
	if (!token || !*token) {
		snprintf(err, errlen, "ssm session: no TokenValue to open the data channel with");
		return NULL;
	}
	ssm_uuid_generate(request_id);
	ssm_uuid_format(request_id, request_str);
	root = json_pack("{s:s,s:s,s:s,s:s,s:s}", "MessageSchemaVersion", "1.0",
			 "RequestId", request_str, "TokenValue", token,
			 "ClientId", s->client_id, "ClientVersion", s->client_version);
	if (root)
		text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (!text)
		snprintf(err, errlen, "ssm session: cannot build the open message (is the token UTF-8?)");
	return text;
}

void ssm_closed_banner(const struct ssm_event *ev, char *out, size_t cap)
{
	if (ev->text[0])
		snprintf(out, cap, "\r\n\r\nSessionId: %s : %s\r\n\r\n", ev->session_id, ev->text);
	else
		snprintf(out, cap, "\r\n\r\nExiting session with sessionId: %s.\r\n\r\n",
			 ev->session_id);
}

/* ---- lifetime ---- */

static char *dup_or_empty(const char *v)
{
	return strdup(v ? v : "");
}

struct ssm_session *ssm_session_new(const struct ssm_session_opts *opts, char *err,
				    size_t errlen)
{
	struct ssm_session *s = calloc(1, sizeof *s);
	uint8_t client_id[SSM_UUID_LEN];
	size_t arena_len;
	uint8_t *p;

	if (!s)
		goto oom;
	s->window_cap = opts->send_window ? opts->send_window : 32;
	s->held_cap = opts->reorder_window ? opts->reorder_window : 64;
	s->outq_cap = opts->out_queue ? opts->out_queue : 32;
	s->input.cap = opts->input_buffer ? opts->input_buffer : 16 * 1024;
	s->output.cap = opts->output_buffer ? opts->output_buffer : 64 * 1024;
	/* A held message must always fit once the caller has read everything. */
	if (s->output.cap < SSM_REORDER_PAYLOAD_MAX)
		s->output.cap = SSM_REORDER_PAYLOAD_MAX;
	if (s->window_cap > WINDOW_LIMIT || s->held_cap > WINDOW_LIMIT ||
	    s->outq_cap > WINDOW_LIMIT || s->outq_cap < OUTQ_RESERVE + 2) {
		snprintf(err, errlen, "ssm session: windows must be at most %d, out queue at least %d",
			 WINDOW_LIMIT, OUTQ_RESERVE + 2);
		goto fail;
	}
	s->session_id = dup_or_empty(opts->session_id);
	s->token = dup_or_empty(opts->token);
	s->client_version = dup_or_empty(opts->client_version ? opts->client_version
							      : SSM_CLIENT_VERSION);
	s->window = calloc(s->window_cap, sizeof *s->window);
	s->held = calloc(s->held_cap, sizeof *s->held);
	s->outq_len = calloc(s->outq_cap, sizeof *s->outq_len);
	arena_len = (size_t)s->window_cap * FRAME_MAX +
		    (size_t)s->held_cap * SSM_REORDER_PAYLOAD_MAX +
		    (size_t)s->outq_cap * FRAME_MAX + s->input.cap + s->output.cap;
	s->arena = malloc(arena_len);
	if (!s->session_id || !s->token || !s->client_version || !s->window || !s->held ||
	    !s->outq_len || !s->arena)
		goto oom;

	p = s->arena;
	for (unsigned i = 0; i < s->window_cap; i++, p += FRAME_MAX)
		s->window[i].frame = p;
	s->held_payloads = p;
	p += (size_t)s->held_cap * SSM_REORDER_PAYLOAD_MAX;
	s->outq_frames = p;
	p += (size_t)s->outq_cap * FRAME_MAX;
	s->input.data = p;
	p += s->input.cap;
	s->output.data = p;

	s->wall_clock_ms = opts->wall_clock_ms;
	s->clock_ctx = opts->clock_ctx;
	s->cols = opts->cols ? opts->cols : SSM_DEFAULT_COLS;
	s->rows = opts->rows ? opts->rows : SSM_DEFAULT_ROWS;
	s->kms_supported = opts->kms_supported;
	s->srtt_ms = SSM_RTO_INITIAL_MS / 2;
	s->rto_ms = SSM_RTO_INITIAL_MS;
	/* One ClientId per client, reused on reconnect (§D.2). */
	ssm_uuid_generate(client_id);
	ssm_uuid_format(client_id, s->client_id);
	ssm_ack_digest_init(&s->ack_digest);
	s->state = SSM_STATE_STARTING;
	return s;
oom:
	snprintf(err, errlen, "ssm session: out of memory");
fail:
	ssm_session_free(s);
	return NULL;
}

void ssm_session_free(struct ssm_session *s)
{
	if (!s)
		return;
	if (s->token)
		explicit_bzero(s->token, strlen(s->token));
	free(s->token);
	free(s->session_id);
	free(s->client_version);
	free(s->window);
	free(s->held);
	free(s->outq_len);
	ssm_cipher_free(&s->cipher);
	ssm_ack_digest_free(&s->ack_digest);
	free(s->arena);
	free(s);
}
