/* Fuzz target for the SSM data channel: the input is decoded as one ClientMessage, then
 * cut into consecutive frames (each frame's own HeaderLength and PayloadLength say where
 * the next starts, clamped to the input) and fed to a fresh session, interleaved with
 * input, resizes, clock ticks and reads. Everything the session sends must decode again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/encoding.h"
#include "aws/ssm_message.h"
#include "aws/ssm_payloads.h"
#include "aws/ssm_session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FRAMES 64

static long long fixed_wall_clock(void *ctx)
{
	(void)ctx;
	return 1700000000000LL;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static size_t frame_length(const uint8_t *p, size_t left)
{
	uint64_t want;

	if (left < SSM_HEADER_SIZE)
		return left;
	want = (uint64_t)be32(p) + 4 + be32(p + 116);
	return want >= SSM_HEADER_SIZE && want <= left ? (size_t)want : left;
}

/* What the session sends must be well-formed: a bug here is a crash, found at once. */
static void drain_outgoing(struct ssm_session *s)
{
	const uint8_t *out;
	size_t len;
	struct ssm_message m;
	char err[160];

	while (ssm_session_peek_outgoing(s, &out, &len)) {
		if (ssm_message_decode(out, len, &m, err, sizeof err) != 0 || m.payload_length == 0)
			abort();
		ssm_session_pop_outgoing(s);
	}
}

/* The fuzzer cannot forge SHA-256, so the session gets each frame with its digest
 * recomputed: mutated payloads then reach the JSON handling behind the digest check.
 * (The raw input still goes through decode as it is.) */
static uint8_t *with_repaired_digest(const uint8_t *frame, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	uint64_t start;

	if (!copy)
		abort();
	memcpy(copy, frame, len);
	if (len >= SSM_HEADER_SIZE) {
		start = (uint64_t)be32(copy) + 4;
		if (start <= len && sha256(copy + start, len - start, copy + 80) != 0)
			abort();
	}
	return copy;
}

/* ssm_ack_parse reads the agent's own layout without jansson: the same result, or the
 * same error, as the JSON parser alone. */
static void check_ack(const uint8_t *payload, size_t len)
{
	struct ssm_ack ack, ref;
	char err[160] = "", ref_err[160] = "";
	int rc = ssm_ack_parse(payload, len, &ack, err, sizeof err);
	int ref_rc = ssm_ack_parse_json(payload, len, &ref, ref_err, sizeof ref_err);

	if (rc != ref_rc || (rc != 0 && strcmp(err, ref_err) != 0) ||
	    (rc == 0 && memcmp(&ack, &ref, sizeof ack) != 0))
		abort();
}

static void exercise_payload_parsers(const struct ssm_message *m)
{
	struct ssm_handshake_request req;
	struct ssm_handshake_outcome outcome;
	struct ssm_handshake_complete hc;
	struct ssm_channel_closed cc;
	char err[160], json[SSM_SEND_PAYLOAD_MAX];
	size_t n;

	check_ack(m->payload, m->payload_length);
	(void)ssm_handshake_complete_parse(m->payload, m->payload_length, &hc, err, sizeof err);
	(void)ssm_channel_closed_parse(m->payload, m->payload_length, &cc, err, sizeof err);
	{
		uint8_t challenge[SSM_CHALLENGE_MAX];

		(void)ssm_challenge_parse(m->payload, m->payload_length, challenge,
					  sizeof challenge, &n, err, sizeof err);
	}
	if (ssm_handshake_request_parse(m->payload, m->payload_length, &req, err, sizeof err) == 0) {
		ssm_handshake_decide(&req, &outcome);
		/* The KMS answer too: a data key's ciphertext in the ActionResult. */
		outcome.kms_ciphertext_b64 = "QkxPQg==";
		(void)ssm_handshake_response_build(&req, &outcome, SSM_CLIENT_VERSION, json,
						   sizeof json, &n, err, sizeof err);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ssm_session_opts opts = {
		.session_id = "fuzz-session", .token = "TOKEN", .wall_clock_ms = fixed_wall_clock,
		.send_window = 4, .reorder_window = 8, .out_queue = 8,
	};
	struct ssm_message m;
	struct ssm_session *s;
	struct ssm_event ev;
	uint8_t sink[512];
	char err[160];
	long long now = 1000;
	size_t off = 0;

	check_ack(data, size);
	if (ssm_message_decode(data, size, &m, err, sizeof err) == 0)
		exercise_payload_parsers(&m);

	s = ssm_session_new(&opts, err, sizeof err);
	if (!s)
		abort();
	for (int i = 0; off < size && i < MAX_FRAMES; i++) {
		size_t len = frame_length(data + off, size - off);
		uint8_t *frame = with_repaired_digest(data + off, len);

		if (ssm_message_decode(frame, len, &m, err, sizeof err) == 0)
			exercise_payload_parsers(&m);
		(void)ssm_session_on_binary(s, frame, len, now, err, sizeof err);
		free(frame);
		off += len;
		/* Let the byte after each frame steer what the caller does next. */
		switch (data[off - 1] & 7) {
		case 0:
			(void)ssm_session_send_input(s, (const uint8_t *)"ls\r", 3, now, err,
						     sizeof err);
			break;
		case 1:
			(void)ssm_session_resize(s, 80 + (uint32_t)i, 24, now, err, sizeof err);
			break;
		case 2:
			now += 250;
			(void)ssm_session_tick(s, now, err, sizeof err);
			break;
		case 3:
			(void)ssm_session_read_output(s, sink, sizeof sink);
			break;
		case 4:
			ssm_session_reconnected(s, now);
			break;
		default:
			break;
		}
		if (data[off - 1] & 8)
			drain_outgoing(s);
		(void)ssm_session_next_timeout(s, now);
	}
	drain_outgoing(s);
	while (ssm_session_read_output(s, sink, sizeof sink) > 0)
		drain_outgoing(s);
	while (ssm_session_next_event(s, &ev))
		if (ev.type == SSM_EVENT_CLOSED) {
			char banner[2048];

			ssm_closed_banner(&ev, banner, sizeof banner);
		}
	ssm_session_free(s);
	return 0;
}
