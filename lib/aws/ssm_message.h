/* The binary ClientMessage of the SSM Session Manager data channel (ssm-protocol.md §D.3):
 * a fixed 120-byte big-endian header (HeaderLength 116, space-padded MessageType, schema
 * version, CreatedDate in ms, SequenceNumber, Flags, MessageId with its two 8-byte halves
 * swapped, SHA-256 of the payload, PayloadType, PayloadLength) followed by the payload.
 * Encoding writes into a caller buffer; decoding points into the caller's buffer and never
 * reads past it. Nothing here allocates. */
#ifndef PERISCOPE_SSM_MESSAGE_H
#define PERISCOPE_SSM_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#define SSM_HEADER_LENGTH 116      /* the value of the HeaderLength field we send */
#define SSM_HEADER_SIZE 120        /* HeaderLength + the PayloadLength field */
#define SSM_MESSAGE_TYPE_LEN 32
#define SSM_UUID_LEN 16
#define SSM_UUID_STR_LEN 36        /* 8-4-4-4-12 lower-case hex, without the NUL */
#define SSM_DIGEST_LEN 32
#define SSM_SCHEMA_VERSION 1

/* MessageType values (§D.4). */
#define SSM_MT_INPUT "input_stream_data"
#define SSM_MT_OUTPUT "output_stream_data"
#define SSM_MT_ACK "acknowledge"
#define SSM_MT_CHANNEL_CLOSED "channel_closed"
#define SSM_MT_START_PUBLICATION "start_publication"
#define SSM_MT_PAUSE_PUBLICATION "pause_publication"

/* Flags bits (informational: no receiver looks at them). */
#define SSM_FLAG_SYN 1u
#define SSM_FLAG_FIN 2u
#define SSM_ACK_FLAGS (SSM_FLAG_SYN | SSM_FLAG_FIN)

/* PayloadType values (§D.3). */
enum ssm_payload_type {
	SSM_PT_NONE = 0,
	SSM_PT_OUTPUT = 1,
	SSM_PT_ERROR = 2,
	SSM_PT_SIZE = 3,
	SSM_PT_PARAMETER = 4,
	SSM_PT_HANDSHAKE_REQUEST = 5,
	SSM_PT_HANDSHAKE_RESPONSE = 6,
	SSM_PT_HANDSHAKE_COMPLETE = 7,
	SSM_PT_ENC_CHALLENGE_REQUEST = 8,
	SSM_PT_ENC_CHALLENGE_RESPONSE = 9,
	SSM_PT_FLAG = 10,
	SSM_PT_STDERR = 11,
	SSM_PT_EXIT_CODE = 12,
};

struct ssm_message {
	/* NUL-terminated; trailing spaces/NULs of the wire field are stripped on decode. */
	char message_type[SSM_MESSAGE_TYPE_LEN + 1];
	uint32_t schema_version;
	uint64_t created_date_ms;
	int64_t sequence_number;
	uint64_t flags;
	/* RFC 4122 byte order (as printed in the canonical string); the codec does the
	 * half swap of the wire format. */
	uint8_t message_id[SSM_UUID_LEN];
	/* Filled by decode (as received) and by encode (computed); ignored as input, except by
	 * ssm_message_encode_digested. */
	uint8_t payload_digest[SSM_DIGEST_LEN];
	uint32_t payload_type;
	uint32_t payload_length;
	const uint8_t *payload;    /* decode: points into the decoded buffer */
};

/* Bytes a message with this payload length takes on the wire. */
static inline size_t ssm_message_wire_size(size_t payload_length)
{
	return SSM_HEADER_SIZE + payload_length;
}

/* Serialises m (computing the payload digest, stored back into m) into out. Refuses an
 * empty payload (peers ignore it), an empty or over-long message type, a zero CreatedDate
 * and an out buffer that is too small. Returns 0 and the length in *out_len, or -1. */
int ssm_message_encode(struct ssm_message *m, uint8_t *out, size_t out_cap, size_t *out_len,
		       char *err, size_t errlen);
/* The same with m->payload_digest taken as given: for a caller that hashed the payload
 * itself (the session's acks, from the SHA-256 state of their constant first 64 bytes). */
int ssm_message_encode_digested(const struct ssm_message *m, uint8_t *out, size_t out_cap,
				size_t *out_len, char *err, size_t errlen);

/* Parses one WebSocket message. Refuses: fewer than 120 bytes, HeaderLength below 116,
 * HeaderLength + 4 + PayloadLength different from len, and (except for the publication
 * messages, which peers never validate) an empty type, a zero CreatedDate or a payload
 * whose SHA-256 differs from the digest. m->payload points into data. Returns 0 or -1. */
int ssm_message_decode(const uint8_t *data, size_t len, struct ssm_message *m,
		       char *err, size_t errlen);

/* The MessageId half swap: wire bytes 0-7 carry UUID bytes 8-15 and vice versa. The
 * operation is its own inverse. */
void ssm_uuid_swap_halves(const uint8_t in[SSM_UUID_LEN], uint8_t out[SSM_UUID_LEN]);
/* A fresh random (version 4) UUID from libuuid. */
void ssm_uuid_generate(uint8_t out[SSM_UUID_LEN]);

/* Random bytes for MessageIds, refilled from getrandom(2) SSM_UUID_POOL_BYTES at a time:
 * libuuid's uuid_generate_random opens and reads its random source on every call, and a
 * session makes one id per message it sends (every ack). Zero-initialise before use. */
#define SSM_UUID_POOL_BYTES 512
struct ssm_uuid_pool {
	uint8_t bytes[SSM_UUID_POOL_BYTES];
	size_t used;        /* bytes already handed out; a zeroed pool counts as empty */
	int filled;
};
/* A fresh RFC 4122 version 4 UUID (version and variant bits set) from the pool; falls
 * back to ssm_uuid_generate when getrandom fails. */
void ssm_uuid_generate_pooled(struct ssm_uuid_pool *pool, uint8_t out[SSM_UUID_LEN]);
/* Canonical lower-case string; out holds SSM_UUID_STR_LEN + 1 bytes. */
void ssm_uuid_format(const uint8_t uuid[SSM_UUID_LEN], char out[SSM_UUID_STR_LEN + 1]);
/* Parses a canonical UUID string. Returns 0 or -1. */
int ssm_uuid_parse(const char *s, uint8_t out[SSM_UUID_LEN]);

#endif
