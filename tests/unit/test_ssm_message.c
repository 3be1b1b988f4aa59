/* The SSM ClientMessage codec and its JSON payloads against the byte-level vectors of
 * ssm-protocol.md §E.1 and the payload shapes of §D.5, §D.8, §D.9, §D.11. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/encoding.h"
#include "aws/ssm_ack_digest.h"
#include "aws/ssm_message.h"
#include "aws/ssm_payloads.h"
#include "ssm_vectors.h"
#include "unit.h"

#define FRAME_CAP 2048

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Test helper: the vectors are written as lower-case hex. */
static size_t from_hex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex) / 2;

	ck_assert_uint_le(n, cap);
	for (size_t i = 0; i < n; i++) {
		int hi = hex_nibble(hex[2 * i]), lo = hex_nibble(hex[2 * i + 1]);

		ck_assert(hi >= 0 && lo >= 0);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return n;
}

static void uuid_from(const char *s, uint8_t out[SSM_UUID_LEN])
{
	ck_assert_int_eq(ssm_uuid_parse(s, out), 0);
}

static void assert_encodes_to(struct ssm_message *m, const char *expected_hex)
{
	uint8_t frame[FRAME_CAP];
	char hex[2 * FRAME_CAP + 1];
	char err[160] = "";
	size_t len = 0;

	ck_assert_msg(ssm_message_encode(m, frame, sizeof frame, &len, err, sizeof err) == 0,
		      "%s", err);
	hex_encode(frame, len, hex);
	ck_assert_str_eq(hex, expected_hex);
}

static struct ssm_message base_message(const char *type, int64_t seq, uint64_t flags,
				       const char *id, uint32_t payload_type)
{
	struct ssm_message m;

	memset(&m, 0, sizeof m);
	snprintf(m.message_type, sizeof m.message_type, "%s", type);
	m.schema_version = 1;
	m.created_date_ms = SSM_VECTOR_CREATED_MS;
	m.sequence_number = seq;
	m.flags = flags;
	uuid_from(id, m.message_id);
	m.payload_type = payload_type;
	return m;
}

static void decode_vector(const char *hex, uint8_t *buf, size_t *len, struct ssm_message *m)
{
	char err[160] = "";

	*len = from_hex(hex, buf, FRAME_CAP);
	ck_assert_msg(ssm_message_decode(buf, *len, m, err, sizeof err) == 0, "%s", err);
}

START_TEST(encode_v1_keystrokes_matches_spec_bytes)
{
	struct ssm_message m = base_message(SSM_MT_INPUT, 0, 0,
					    "00112233-4455-6677-8899-aabbccddeeff", SSM_PT_OUTPUT);

	m.payload = (const uint8_t *)"ls\r";
	m.payload_length = 3;
	assert_encodes_to(&m, SSM_V1_HEX);
}
END_TEST

START_TEST(encode_v2_size_matches_spec_bytes)
{
	struct ssm_message m = base_message(SSM_MT_INPUT, 1, 0,
					    "a1b2c3d4-e5f6-4789-9abc-def012345678", SSM_PT_SIZE);
	char json[64], err[160] = "";
	size_t n = 0;

	ck_assert_int_eq(ssm_size_build(80, 24, json, sizeof json, &n, err, sizeof err), 0);
	ck_assert_uint_eq(n, 21);
	ck_assert_mem_eq(json, "{\"cols\":80,\"rows\":24}", 21);
	m.payload = (const uint8_t *)json;
	m.payload_length = (uint32_t)n;
	assert_encodes_to(&m, SSM_V2_HEX);
}
END_TEST

START_TEST(encode_v3_agent_output_matches_spec_bytes)
{
	struct ssm_message m = base_message(SSM_MT_OUTPUT, 0, SSM_FLAG_SYN,
					    "fedcba98-7654-4321-8fed-cba987654321", SSM_PT_OUTPUT);

	m.payload = (const uint8_t *)"sh-5.2$ ";
	m.payload_length = 8;
	assert_encodes_to(&m, SSM_V3_HEX);
}
END_TEST

START_TEST(encode_v4_ack_of_v3_matches_spec_bytes)
{
	uint8_t v3[FRAME_CAP];
	size_t v3_len, n = 0;
	struct ssm_message acked, m = base_message(SSM_MT_ACK, 0, SSM_ACK_FLAGS,
						   "0f1e2d3c-4b5a-4968-8778-695a4b3c2d1e",
						   SSM_PT_NONE);
	char json[512], err[160] = "";

	decode_vector(SSM_V3_HEX, v3, &v3_len, &acked);
	ck_assert_int_eq(ssm_ack_build(&acked, json, sizeof json, &n, err, sizeof err), 0);
	ck_assert_uint_eq(n, 176);
	m.payload = (const uint8_t *)json;
	m.payload_length = (uint32_t)n;
	assert_encodes_to(&m, SSM_V4_HEX);
}
END_TEST

/* The session hashes its acks from the SHA-256 state of their constant first 64 bytes: the
 * spec vector's ack (V4) comes out with the vector's own digest (bytes 80-111), and so does
 * every other payload, through the prefix or whole. */
START_TEST(ack_digest_from_the_prefix_state_matches_the_vector_and_whole_hashes)
{
	static const char *const others[] = {
		"{\"AcknowledgedMessageType\":\"input_stream_data\",\"AcknowledgedMessageId\":\"x\"}",
		"{\"AcknowledgedMessageType\":\"output_stream_data\",\"AcknowledgedMe",
		"{\"AcknowledgedMessageType\":\"output_stream_data\",\"AcknowledgedMes",
		"{\"AcknowledgedMessageType\":\"output_stream_data\",\"AcknowledgedMess",
		"short",
	};
	uint8_t v3[FRAME_CAP], v4[FRAME_CAP], got[SSM_DIGEST_LEN], whole[SSM_DIGEST_LEN];
	size_t v3_len, v4_len, n = 0;
	struct ssm_message acked, v4m;
	struct ssm_ack_digest d;
	char json[512], err[160] = "";

	ssm_ack_digest_init(&d);
	ck_assert(d.ready);
	decode_vector(SSM_V3_HEX, v3, &v3_len, &acked);
	decode_vector(SSM_V4_HEX, v4, &v4_len, &v4m);
	ck_assert_int_eq(ssm_ack_build(&acked, json, sizeof json, &n, err, sizeof err), 0);
	ck_assert_int_eq(ssm_ack_digest(&d, json, n, got), 0);
	ck_assert_mem_eq(got, v4 + 80, SSM_DIGEST_LEN);
	/* Later sequence numbers: longer payloads, same prefix. */
	for (int64_t seq = 1; seq < 100000000000LL; seq *= 7) {
		acked.sequence_number = seq;
		ck_assert_int_eq(ssm_ack_build(&acked, json, sizeof json, &n, err, sizeof err), 0);
		ck_assert_int_eq(ssm_ack_digest(&d, json, n, got), 0);
		ck_assert_int_eq(sha256(json, n, whole), 0);
		ck_assert_mem_eq(got, whole, SSM_DIGEST_LEN);
	}
	/* Another type, a byte short of the prefix, exactly it, a byte past it, shorter. */
	for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
		ck_assert_int_eq(ssm_ack_digest(&d, others[i], strlen(others[i]), got), 0);
		ck_assert_int_eq(sha256(others[i], strlen(others[i]), whole), 0);
		ck_assert_mem_eq(got, whole, SSM_DIGEST_LEN);
	}
	ssm_ack_digest_free(&d);
	/* A freed (or never prepared) state still answers, hashing whole. */
	ck_assert_int_eq(ssm_ack_digest(&d, json, n, got), 0);
	ck_assert_int_eq(sha256(json, n, whole), 0);
	ck_assert_mem_eq(got, whole, SSM_DIGEST_LEN);
}
END_TEST

START_TEST(encode_v5_flag_matches_spec_bytes)
{
	static const uint8_t terminate[4] = { 0, 0, 0, 2 };
	struct ssm_message m = base_message(SSM_MT_INPUT, 2, 0,
					    "11111111-2222-4333-8444-555555555555", SSM_PT_FLAG);

	m.payload = terminate;
	m.payload_length = 4;
	assert_encodes_to(&m, SSM_V5_HEX);
}
END_TEST

START_TEST(encode_v6_handshake_response_matches_spec_bytes)
{
	static const char request[] =
		"{\"AgentVersion\":\"3.3.40.0\",\"RequestedClientActions\":[{\"ActionType\":"
		"\"SessionType\",\"ActionParameters\":{\"SessionType\":\"Standard_Stream\","
		"\"Properties\":null}}]}";
	struct ssm_message m = base_message(SSM_MT_INPUT, 0, 0,
					    "22222222-3333-4444-8555-666666666666",
					    SSM_PT_HANDSHAKE_RESPONSE);
	struct ssm_handshake_request req;
	struct ssm_handshake_outcome outcome;
	char json[1024], err[160] = "";
	size_t n = 0;

	ck_assert_int_eq(ssm_handshake_request_parse((const uint8_t *)request, strlen(request),
						     &req, err, sizeof err), 0);
	ssm_handshake_decide(&req, &outcome);
	ck_assert_int_eq(outcome.kms_declined, 0);
	ck_assert_int_eq(ssm_handshake_response_build(&req, &outcome, "1.2.0.0", json,
						      sizeof json, &n, err, sizeof err), 0);
	ck_assert_uint_eq(n, 145);
	m.payload = (const uint8_t *)json;
	m.payload_length = (uint32_t)n;
	assert_encodes_to(&m, SSM_V6_HEX);
}
END_TEST

START_TEST(decode_v1_reads_every_field)
{
	uint8_t buf[FRAME_CAP], digest[SSM_DIGEST_LEN];
	struct ssm_message m;
	char id[SSM_UUID_STR_LEN + 1];
	size_t len;

	decode_vector(SSM_V1_HEX, buf, &len, &m);
	ck_assert_uint_eq(len, 123);
	ck_assert_str_eq(m.message_type, "input_stream_data");
	ck_assert_uint_eq(m.schema_version, 1);
	ck_assert_uint_eq(m.created_date_ms, SSM_VECTOR_CREATED_MS);
	ck_assert_int_eq(m.sequence_number, 0);
	ck_assert_uint_eq(m.flags, 0);
	ssm_uuid_format(m.message_id, id);
	ck_assert_str_eq(id, "00112233-4455-6677-8899-aabbccddeeff");
	ck_assert_int_eq(sha256("ls\r", 3, digest), 0);
	ck_assert_mem_eq(m.payload_digest, digest, SSM_DIGEST_LEN);
	ck_assert_uint_eq(m.payload_type, SSM_PT_OUTPUT);
	ck_assert_uint_eq(m.payload_length, 3);
	ck_assert_ptr_eq(m.payload, buf + 120);
	ck_assert_mem_eq(m.payload, "ls\r", 3);
}
END_TEST

struct decode_case {
	const char *hex;
	const char *type;
	int64_t seq;
	uint64_t flags;
	const char *id;
	uint32_t payload_type;
	uint32_t payload_length;
	const char *payload_prefix;
};

static const struct decode_case decode_cases[] = {
	{ SSM_V2_HEX, "input_stream_data", 1, 0, "a1b2c3d4-e5f6-4789-9abc-def012345678", 3, 21,
	  "{\"cols\":80,\"rows\":24}" },
	{ SSM_V3_HEX, "output_stream_data", 0, 1, "fedcba98-7654-4321-8fed-cba987654321", 1, 8,
	  "sh-5.2$ " },
	{ SSM_V4_HEX, "acknowledge", 0, 3, "0f1e2d3c-4b5a-4968-8778-695a4b3c2d1e", 0, 176,
	  "{\"AcknowledgedMessageType\":\"output_stream_data\"," },
	{ SSM_V5_HEX, "input_stream_data", 2, 0, "11111111-2222-4333-8444-555555555555", 10, 4,
	  "" },
	{ SSM_V6_HEX, "input_stream_data", 0, 0, "22222222-3333-4444-8555-666666666666", 6, 145,
	  "{\"ClientVersion\":\"1.2.0.0\"," },
	{ SSM_V7_HEX, "pause_publication", 0, 3, "33333333-4444-4555-8666-777777777777", 0, 0,
	  "" },
};

START_TEST(decode_vectors_read_every_field)
{
	const struct decode_case *c = &decode_cases[_i];
	uint8_t buf[FRAME_CAP], digest[SSM_DIGEST_LEN];
	struct ssm_message m;
	char id[SSM_UUID_STR_LEN + 1];
	size_t len;

	decode_vector(c->hex, buf, &len, &m);
	ck_assert_uint_eq(len, 120 + c->payload_length);
	ck_assert_str_eq(m.message_type, c->type);
	ck_assert_uint_eq(m.schema_version, 1);
	ck_assert_uint_eq(m.created_date_ms, SSM_VECTOR_CREATED_MS);
	ck_assert_int_eq(m.sequence_number, c->seq);
	ck_assert_uint_eq(m.flags, c->flags);
	ssm_uuid_format(m.message_id, id);
	ck_assert_str_eq(id, c->id);
	ck_assert_uint_eq(m.payload_type, c->payload_type);
	ck_assert_uint_eq(m.payload_length, c->payload_length);
	ck_assert_mem_eq(m.payload, c->payload_prefix, strlen(c->payload_prefix));
	ck_assert_int_eq(sha256(m.payload, m.payload_length, digest), 0);
	ck_assert_mem_eq(m.payload_digest, digest, SSM_DIGEST_LEN);
}
END_TEST

START_TEST(decode_refuses_payload_digest_mismatch)
{
	uint8_t buf[FRAME_CAP];
	struct ssm_message m;
	char err[160] = "";
	size_t len = from_hex(SSM_V3_HEX, buf, sizeof buf);

	buf[len - 1] ^= 0x01;   /* one payload bit */
	ck_assert_int_eq(ssm_message_decode(buf, len, &m, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "digest mismatch"));
	buf[len - 1] ^= 0x01;
	buf[80] ^= 0x80;        /* one digest bit */
	ck_assert_int_eq(ssm_message_decode(buf, len, &m, err, sizeof err), -1);
}
END_TEST

START_TEST(decode_refuses_every_truncation)
{
	uint8_t buf[FRAME_CAP];
	struct ssm_message m;
	char err[160];
	size_t len = from_hex(SSM_V4_HEX, buf, sizeof buf);

	for (size_t cut = 0; cut < len; cut++)
		ck_assert_msg(ssm_message_decode(buf, cut, &m, err, sizeof err) == -1,
			      "a %zu-byte prefix was accepted", cut);
}
END_TEST

static void set_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

START_TEST(decode_refuses_bad_lengths)
{
	uint8_t buf[FRAME_CAP];
	struct ssm_message m;
	char err[160];
	size_t len = from_hex(SSM_V1_HEX, buf, sizeof buf);

	/* a trailing byte beyond PayloadLength */
	buf[len] = 'x';
	ck_assert_int_eq(ssm_message_decode(buf, len + 1, &m, err, sizeof err), -1);
	/* HeaderLength below the fixed fields, or absurdly large */
	set_u32(buf, 115);
	ck_assert_int_eq(ssm_message_decode(buf, len, &m, err, sizeof err), -1);
	set_u32(buf, 0xffffffffu);
	ck_assert_int_eq(ssm_message_decode(buf, len, &m, err, sizeof err), -1);
	set_u32(buf, 116);
	/* PayloadLength larger than the frame, and one that would wrap 32-bit sums */
	set_u32(buf + 116, 4);
	ck_assert_int_eq(ssm_message_decode(buf, len, &m, err, sizeof err), -1);
	set_u32(buf + 116, 0xfffffffdu);
	ck_assert_int_eq(ssm_message_decode(buf, len, &m, err, sizeof err), -1);
	set_u32(buf + 116, 3);
	ck_assert_int_eq(ssm_message_decode(buf, len, &m, err, sizeof err), 0);
}
END_TEST

START_TEST(decode_takes_payload_after_a_longer_header)
{
	uint8_t v1[FRAME_CAP], buf[FRAME_CAP];
	struct ssm_message m;
	char err[160] = "";
	size_t len = from_hex(SSM_V1_HEX, v1, sizeof v1);

	/* HeaderLength 120: four unknown header bytes, then the payload at 124. */
	memcpy(buf, v1, 120);
	memcpy(buf + 120, "\xde\xad\xbe\xef", 4);
	memcpy(buf + 124, v1 + 120, len - 120);
	set_u32(buf, 120);
	ck_assert_msg(ssm_message_decode(buf, len + 4, &m, err, sizeof err) == 0, "%s", err);
	ck_assert_uint_eq(m.payload_length, 3);
	ck_assert_mem_eq(m.payload, "ls\r", 3);
}
END_TEST

START_TEST(decode_validates_type_and_date_except_publications)
{
	uint8_t buf[FRAME_CAP];
	struct ssm_message m;
	char err[160];
	size_t len = from_hex(SSM_V1_HEX, buf, sizeof buf);

	memset(buf + 40, 0, 8);   /* CreatedDate 0 */
	ck_assert_int_eq(ssm_message_decode(buf, len, &m, err, sizeof err), -1);
	len = from_hex(SSM_V1_HEX, buf, sizeof buf);
	memset(buf + 4, ' ', 32); /* blank MessageType */
	ck_assert_int_eq(ssm_message_decode(buf, len, &m, err, sizeof err), -1);

	len = from_hex(SSM_V7_HEX, buf, sizeof buf);
	memset(buf + 40, 0, 8);   /* publications are never validated */
	memset(buf + 80, 0, 32);
	ck_assert_int_eq(ssm_message_decode(buf, len, &m, err, sizeof err), 0);
	ck_assert_str_eq(m.message_type, SSM_MT_PAUSE_PUBLICATION);
}
END_TEST

START_TEST(decode_strips_nul_padding_of_the_type)
{
	uint8_t buf[FRAME_CAP];
	struct ssm_message m;
	char err[160] = "";
	size_t len = from_hex(SSM_V4_HEX, buf, sizeof buf);

	memset(buf + 4 + strlen("acknowledge"), 0, 32 - strlen("acknowledge"));
	ck_assert_int_eq(ssm_message_decode(buf, len, &m, err, sizeof err), 0);
	ck_assert_str_eq(m.message_type, "acknowledge");
}
END_TEST

START_TEST(encode_refuses_empty_payload_long_type_and_small_buffer)
{
	struct ssm_message m = base_message(SSM_MT_INPUT, 0, 0,
					    "00112233-4455-6677-8899-aabbccddeeff", SSM_PT_OUTPUT);
	uint8_t frame[FRAME_CAP];
	char err[160];
	size_t len;

	ck_assert_int_eq(ssm_message_encode(&m, frame, sizeof frame, &len, err, sizeof err), -1);
	m.payload = (const uint8_t *)"ls\r";
	m.payload_length = 3;
	ck_assert_int_eq(ssm_message_encode(&m, frame, 122, &len, err, sizeof err), -1);
	ck_assert_int_eq(ssm_message_encode(&m, frame, 123, &len, err, sizeof err), 0);
	m.created_date_ms = 0;
	ck_assert_int_eq(ssm_message_encode(&m, frame, sizeof frame, &len, err, sizeof err), -1);
	m.created_date_ms = SSM_VECTOR_CREATED_MS;
	memset(m.message_type, 'a', sizeof m.message_type);   /* 33 chars, no NUL */
	ck_assert_int_eq(ssm_message_encode(&m, frame, sizeof frame, &len, err, sizeof err), -1);
}
END_TEST

START_TEST(uuid_half_swap_round_trips)
{
	static const uint8_t wire_example[16] = { 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
						  0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77 };
	uint8_t u[16], wire[16], back[16];
	char s[SSM_UUID_STR_LEN + 1];

	uuid_from("00112233-4455-6677-8899-aabbccddeeff", u);
	ssm_uuid_swap_halves(u, wire);
	ck_assert_mem_eq(wire, wire_example, 16);
	ssm_uuid_swap_halves(wire, back);
	ck_assert_mem_eq(back, u, 16);

	for (int i = 0; i < 32; i++) {
		ssm_uuid_generate(u);
		ck_assert_uint_eq(u[6] >> 4, 4);          /* version 4 */
		ck_assert_uint_eq(u[8] & 0xc0, 0x80);     /* RFC 4122 variant */
		ssm_uuid_swap_halves(u, wire);
		ck_assert_mem_eq(wire, u + 8, 8);
		ck_assert_mem_eq(wire + 8, u, 8);
		ssm_uuid_swap_halves(wire, wire);         /* in place */
		ck_assert_mem_eq(wire, u, 16);
		ssm_uuid_format(u, s);
		ck_assert_int_eq(ssm_uuid_parse(s, back), 0);
		ck_assert_mem_eq(back, u, 16);
	}
	ck_assert_int_eq(ssm_uuid_parse("not-a-uuid", back), -1);
}
END_TEST

/* The pooled ids: RFC 4122 version 4 and variant bits on every one, across several pool
 * refills (512 bytes = 32 ids each), and no id repeated. */
START_TEST(pooled_uuids_are_v4_and_distinct_across_refills)
{
	enum { N = 200 };
	static uint8_t seen[N][16];
	struct ssm_uuid_pool pool;
	char s[SSM_UUID_STR_LEN + 1];

	memset(&pool, 0, sizeof pool);
	for (int i = 0; i < N; i++) {
		ssm_uuid_generate_pooled(&pool, seen[i]);
		ck_assert_uint_eq(seen[i][6] >> 4, 4);
		ck_assert_uint_eq(seen[i][8] & 0xc0, 0x80);
		ssm_uuid_format(seen[i], s);
		ck_assert_int_eq(s[14], '4');
		ck_assert(strchr("89ab", s[19]) != NULL);
		for (int j = 0; j < i; j++)
			ck_assert(memcmp(seen[i], seen[j], 16) != 0);
	}
}
END_TEST

/* What the ack was built with before it was written by hand: the reference bytes. */
static size_t ack_by_jansson(const struct ssm_message *m, char *out, size_t cap)
{
	char id[SSM_UUID_STR_LEN + 1];
	json_t *root;
	size_t n;

	ssm_uuid_format(m->message_id, id);
	root = json_pack("{s:s,s:s,s:I,s:b}", "AcknowledgedMessageType", m->message_type,
			 "AcknowledgedMessageId", id, "AcknowledgedMessageSequenceNumber",
			 (json_int_t)m->sequence_number, "IsSequentialMessage", 1);
	ck_assert_ptr_nonnull(root);
	n = json_dumpb(root, out, cap, JSON_COMPACT);
	json_decref(root);
	ck_assert_uint_gt(n, 0);
	ck_assert_uint_le(n, cap);
	return n;
}

START_TEST(ack_build_matches_jansson_byte_for_byte)
{
	static const char *const types[] = {
		"output_stream_data", "input_stream_data", "acknowledge", "channel_closed", "a",
		"with \"quote\"", "back\\slash", "tab\there", "caf\xc3\xa9", "del\x7f",
		"slash/ and ~ and { }",
	};
	static const int64_t fixed[] = { 0, 1, -1, 9, 10, 99, 100, INT32_MAX, (int64_t)INT32_MAX + 1,
					 INT64_MAX, INT64_MIN, -1234567890123LL };
	struct ssm_uuid_pool pool;
	struct ssm_message m;
	char mine[512], ref[512], err[160];
	size_t n, rn;
	uint64_t x = 0x9e3779b97f4a7c15ULL;

	memset(&pool, 0, sizeof pool);
	for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
		for (int i = 0; i < 400; i++) {
			memset(&m, 0, sizeof m);
			snprintf(m.message_type, sizeof m.message_type, "%s", types[t]);
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			m.sequence_number = i < (int)(sizeof fixed / sizeof fixed[0]) ? fixed[i]
				: (int64_t)(x >> (i % 64));
			ssm_uuid_generate_pooled(&pool, m.message_id);
			ck_assert_int_eq(ssm_ack_build(&m, mine, sizeof mine, &n, err, sizeof err), 0);
			rn = ack_by_jansson(&m, ref, sizeof ref);
			ck_assert_uint_eq(n, rn);
			ck_assert_mem_eq(mine, ref, n);
		}
	}
	/* Too small a buffer is an error, not a cut ack. */
	memset(&m, 0, sizeof m);
	snprintf(m.message_type, sizeof m.message_type, "%s", "output_stream_data");
	rn = ack_by_jansson(&m, ref, sizeof ref);
	ck_assert_int_eq(ssm_ack_build(&m, mine, rn, &n, err, sizeof err), -1);
	ck_assert_int_eq(ssm_ack_build(&m, mine, rn + 1, &n, err, sizeof err), 0);
	ck_assert_uint_eq(n, rn);
}
END_TEST

/* ---- payloads ---- */

START_TEST(ack_parse_uses_members_in_any_order)
{
	static const char json[] =
		"{\"IsSequentialMessage\":true,\"AcknowledgedMessageSequenceNumber\":42,"
		"\"AcknowledgedMessageId\":\"fedcba98-7654-4321-8fed-cba987654321\","
		"\"AcknowledgedMessageType\":\"input_stream_data\"}";
	struct ssm_ack ack;
	char err[160] = "";

	ck_assert_int_eq(ssm_ack_parse((const uint8_t *)json, strlen(json), &ack, err,
				       sizeof err), 0);
	ck_assert_int_eq(ack.acked_sequence, 42);
	ck_assert_str_eq(ack.acked_type, "input_stream_data");
	ck_assert_str_eq(ack.acked_id, "fedcba98-7654-4321-8fed-cba987654321");
	ck_assert_int_eq(ack.is_sequential, 1);
}
END_TEST

/* The agent's own layout (AcknowledgedMessageType, Id, SequenceNumber, IsSequentialMessage,
 * compact: amazon-ssm-agent agent/session/contracts/model.go AcknowledgeContent through
 * json.Marshal) is read without jansson; lines near it must still mean what their JSON
 * says, or be refused as the JSON parser refuses them. */
START_TEST(ack_parse_reads_the_agent_layout_as_json_would)
{
	static const char head[] = "{\"AcknowledgedMessageType\":\"input_stream_data\","
				   "\"AcknowledgedMessageId\":\"fedcba98-7654-4321-8fed-cba987654321\","
				   "\"AcknowledgedMessageSequenceNumber\":";
	static const struct {
		const char *tail;
		int rc;
		long long seq;
		int sequential;
	} cases[] = {
		{ "42,\"IsSequentialMessage\":true}", 0, 42, 1 },
		{ "0,\"IsSequentialMessage\":false}", 0, 0, 0 },
		{ "999999999999999999,\"IsSequentialMessage\":true}", 0, 999999999999999999LL, 1 },
		{ "9223372036854775807,\"IsSequentialMessage\":true}", 0, 9223372036854775807LL, 1 },
		{ "-3,\"IsSequentialMessage\":true}", 0, -3, 1 },
		{ "42, \"IsSequentialMessage\":true} ", 0, 42, 1 },
		{ "42,\"IsSequentialMessage\":true,\"AcknowledgedMessageSequenceNumber\":7}", 0, 7, 1 },
		{ "42,\"IsSequentialMessage\":1}", 0, 42, 0 },
		{ "9223372036854775808,\"IsSequentialMessage\":true}", -1, 0, 0 },
		{ "042,\"IsSequentialMessage\":true}", -1, 0, 0 },
		{ "4.2,\"IsSequentialMessage\":true}", -1, 0, 0 },
		{ "42,\"IsSequentialMessage\":true}x", -1, 0, 0 },
		{ "42,\"IsSequentialMessage\":true", -1, 0, 0 },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char json[512];
		struct ssm_ack ack;
		char err[160] = "";
		int rc;

		snprintf(json, sizeof json, "%s%s", head, cases[i].tail);
		rc = ssm_ack_parse((const uint8_t *)json, strlen(json), &ack, err, sizeof err);
		ck_assert_msg(rc == cases[i].rc, "%s: %d (%s)", cases[i].tail, rc, err);
		if (rc != 0) {
			ck_assert_msg(strncmp(err, "ssm ack: ", 9) == 0, "%s", err);
			continue;
		}
		ck_assert_int_eq(ack.acked_sequence, cases[i].seq);
		ck_assert_int_eq(ack.is_sequential, cases[i].sequential);
		ck_assert_str_eq(ack.acked_type, "input_stream_data");
		ck_assert_str_eq(ack.acked_id, "fedcba98-7654-4321-8fed-cba987654321");
	}
}
END_TEST

/* Strings: escapes are decoded, overlong values cut as before, on either path. */
START_TEST(ack_parse_strings_mean_their_json_value)
{
	static const char escaped[] =
		"{\"AcknowledgedMessageType\":\"input\\u005fstream_data\","
		"\"AcknowledgedMessageId\":\"fedcba98-7654-4321-8fed-cba987654321\","
		"\"AcknowledgedMessageSequenceNumber\":5,\"IsSequentialMessage\":true}";
	static const char long_type[] =
		"{\"AcknowledgedMessageType\":\"0123456789012345678901234567890123456789\","
		"\"AcknowledgedMessageId\":\"fedcba98-7654-4321-8fed-cba987654321-and-more\","
		"\"AcknowledgedMessageSequenceNumber\":5,\"IsSequentialMessage\":true}";
	struct ssm_ack ack;
	char err[160];

	ck_assert_int_eq(ssm_ack_parse((const uint8_t *)escaped, strlen(escaped), &ack, err, sizeof err), 0);
	ck_assert_str_eq(ack.acked_type, "input_stream_data");
	ck_assert_int_eq(ssm_ack_parse((const uint8_t *)long_type, strlen(long_type), &ack, err, sizeof err), 0);
	ck_assert_str_eq(ack.acked_type, "01234567890123456789012345678901");
	ck_assert_str_eq(ack.acked_id, "fedcba98-7654-4321-8fed-cba987654321");
	ck_assert_int_eq(ack.acked_sequence, 5);
}
END_TEST

START_TEST(ack_parse_requires_an_integer_sequence)
{
	static const char *const bad[] = {
		"{\"AcknowledgedMessageType\":\"input_stream_data\"}",
		"{\"AcknowledgedMessageSequenceNumber\":\"3\"}",
		"[1,2]",
		"{\"AcknowledgedMessageSequenceNumber\":",
	};
	struct ssm_ack ack;
	char err[160];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_int_eq(ssm_ack_parse((const uint8_t *)bad[i], strlen(bad[i]), &ack, err,
					       sizeof err), -1);
}
END_TEST

START_TEST(kms_request_is_declined_as_unsupported)
{
	static const char request[] =
		"{\"AgentVersion\":\"3.3.40.0\",\"RequestedClientActions\":["
		"{\"ActionType\":\"SessionType\",\"ActionParameters\":{\"SessionType\":"
		"\"Standard_Stream\",\"Properties\":null}},"
		"{\"ActionType\":\"KMSEncryption\",\"ActionParameters\":{\"KMSKeyId\":"
		"\"arn:aws:kms:us-east-1:111122223333:key/abc\",\"Challenge\":\"AAAA\"}}]}";
	static const char expected[] =
		"{\"ClientVersion\":\"1.2.0.0\",\"ProcessedClientActions\":["
		"{\"ActionType\":\"SessionType\",\"ActionStatus\":1,\"ActionResult\":null,\"Error\":\"\"},"
		"{\"ActionType\":\"KMSEncryption\",\"ActionStatus\":3,\"ActionResult\":null,"
		"\"Error\":\"Failed to process action KMSEncryption: KMS encryption is not supported by this client\"}],"
		"\"Errors\":[\"Failed to process action KMSEncryption: KMS encryption is not supported by this client\"]}";
	struct ssm_handshake_request req;
	struct ssm_handshake_outcome outcome;
	char json[2048], err[160] = "";
	size_t n = 0;

	ck_assert_int_eq(ssm_handshake_request_parse((const uint8_t *)request, strlen(request),
						     &req, err, sizeof err), 0);
	ck_assert_str_eq(req.agent_version, "3.3.40.0");
	ck_assert_uint_eq(req.n_actions, 2);
	ck_assert_int_eq(req.actions[0].kind, SSM_ACTION_SESSION_TYPE);
	ck_assert_str_eq(req.actions[0].session_type, "Standard_Stream");
	ck_assert_int_eq(req.actions[1].kind, SSM_ACTION_KMS_ENCRYPTION);
	ck_assert_str_eq(req.actions[1].kms_key_id, "arn:aws:kms:us-east-1:111122223333:key/abc");
	ssm_handshake_decide(&req, &outcome);
	ck_assert_int_eq(outcome.kms_declined, 1);
	ck_assert_int_eq(outcome.status[0], SSM_ACTION_SUCCESS);
	ck_assert_int_eq(outcome.status[1], SSM_ACTION_UNSUPPORTED);
	ck_assert_int_eq(ssm_handshake_response_build(&req, &outcome, "1.2.0.0", json,
						      sizeof json, &n, err, sizeof err), 0);
	ck_assert_uint_eq(n, strlen(expected));
	ck_assert_mem_eq(json, expected, n);
}
END_TEST

START_TEST(port_session_and_unknown_actions_are_unsupported)
{
	static const char request[] =
		"{\"RequestedClientActions\":["
		"{\"ActionType\":\"SessionType\",\"ActionParameters\":{\"SessionType\":\"Port\"}},"
		"{\"ActionType\":\"Teleport\"}]}";
	struct ssm_handshake_request req;
	struct ssm_handshake_outcome outcome;
	char err[160] = "";

	ck_assert_int_eq(ssm_handshake_request_parse((const uint8_t *)request, strlen(request),
						     &req, err, sizeof err), 0);
	ssm_handshake_decide(&req, &outcome);
	ck_assert_int_eq(outcome.kms_declined, 0);
	ck_assert_int_eq(outcome.session_type_refused, 1);
	ck_assert_int_eq(outcome.status[0], SSM_ACTION_UNSUPPORTED);
	ck_assert_int_eq(outcome.status[1], SSM_ACTION_UNSUPPORTED);
	ck_assert_ptr_nonnull(strstr(outcome.error[0], "session type Port"));
	ck_assert_str_eq(outcome.error[1], "Unsupported action Teleport");
	ck_assert_int_eq(ssm_session_type_is_shell("InteractiveCommands"), 1);
}
END_TEST

START_TEST(handshake_request_refuses_bad_shapes)
{
	static const char *const bad[] = {
		"{\"RequestedClientActions\":{}}",
		"{\"RequestedClientActions\":[{\"ActionParameters\":{}}]}",
		"{\"RequestedClientActions\":[{\"ActionType\":\"A\"},{\"ActionType\":\"B\"},"
		"{\"ActionType\":\"C\"},{\"ActionType\":\"D\"},{\"ActionType\":\"E\"}]}",
		"\"SessionType\"",
	};
	struct ssm_handshake_request req;
	char err[160];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(ssm_handshake_request_parse((const uint8_t *)bad[i], strlen(bad[i]),
							  &req, err, sizeof err) == -1,
			      "accepted %s", bad[i]);
	ck_assert_int_eq(ssm_handshake_request_parse((const uint8_t *)"{}", 2, &req, err,
						     sizeof err), 0);
	ck_assert_uint_eq(req.n_actions, 0);
}
END_TEST

START_TEST(handshake_complete_and_channel_closed_parse)
{
	static const char complete[] =
		"{\"HandshakeTimeToComplete\":1500000,\"CustomerMessage\":\"hello from mock\"}";
	static const char closed[] =
		"{\"MessageId\":\"9d1b5c0e-0000-4000-8000-000000000001\",\"CreatedDate\":"
		"\"2024-01-01T00:00:00.000Z\",\"DestinationId\":\"i-0abc\",\"SessionId\":"
		"\"alice-0a1b\",\"MessageType\":\"channel_closed\",\"SchemaVersion\":1,"
		"\"Output\":\"Session terminated by the administrator\"}";
	struct ssm_handshake_complete hc;
	struct ssm_channel_closed cc;
	char err[160] = "";

	ck_assert_int_eq(ssm_handshake_complete_parse((const uint8_t *)complete, strlen(complete),
						      &hc, err, sizeof err), 0);
	ck_assert_int_eq(hc.time_to_complete_ns, 1500000);
	ck_assert_str_eq(hc.customer_message, "hello from mock");
	ck_assert_int_eq(ssm_channel_closed_parse((const uint8_t *)closed, strlen(closed), &cc,
						  err, sizeof err), 0);
	ck_assert_str_eq(cc.output, "Session terminated by the administrator");
	ck_assert_str_eq(cc.session_id, "alice-0a1b");
	ck_assert_str_eq(cc.destination_id, "i-0abc");
	ck_assert_int_eq(ssm_channel_closed_parse((const uint8_t *)"nope", 4, &cc, err,
						  sizeof err), -1);
}
END_TEST

START_TEST(long_texts_are_cut_on_a_character_boundary)
{
	char request[700];
	struct ssm_handshake_request req;
	char err[160] = "";
	int n;

	/* 100 two-byte characters: 200 bytes, more than the 127 kept */
	n = snprintf(request, sizeof request, "{\"AgentVersion\":\"");
	for (int i = 0; i < 100; i++)
		n += snprintf(request + n, sizeof request - (size_t)n, "\xc3\xa9");
	snprintf(request + n, sizeof request - (size_t)n, "\"}");
	ck_assert_int_eq(ssm_handshake_request_parse((const uint8_t *)request, strlen(request),
						     &req, err, sizeof err), 0);
	ck_assert_uint_eq(strlen(req.agent_version), 126);
}
END_TEST

static Suite *ssm_message_suite(void)
{
	Suite *s = suite_create("ssm_message");
	TCase *codec = tcase_create("codec"), *payloads = tcase_create("payloads");

	tcase_add_test(codec, encode_v1_keystrokes_matches_spec_bytes);
	tcase_add_test(codec, encode_v2_size_matches_spec_bytes);
	tcase_add_test(codec, encode_v3_agent_output_matches_spec_bytes);
	tcase_add_test(codec, encode_v4_ack_of_v3_matches_spec_bytes);
	tcase_add_test(codec, ack_digest_from_the_prefix_state_matches_the_vector_and_whole_hashes);
	tcase_add_test(codec, encode_v5_flag_matches_spec_bytes);
	tcase_add_test(codec, encode_v6_handshake_response_matches_spec_bytes);
	tcase_add_test(codec, decode_v1_reads_every_field);
	tcase_add_loop_test(codec, decode_vectors_read_every_field, 0,
			    (int)(sizeof decode_cases / sizeof decode_cases[0]));
	tcase_add_test(codec, decode_refuses_payload_digest_mismatch);
	tcase_add_test(codec, decode_refuses_every_truncation);
	tcase_add_test(codec, decode_refuses_bad_lengths);
	tcase_add_test(codec, decode_takes_payload_after_a_longer_header);
	tcase_add_test(codec, decode_validates_type_and_date_except_publications);
	tcase_add_test(codec, decode_strips_nul_padding_of_the_type);
	tcase_add_test(codec, encode_refuses_empty_payload_long_type_and_small_buffer);
	tcase_add_test(codec, uuid_half_swap_round_trips);
	tcase_add_test(codec, pooled_uuids_are_v4_and_distinct_across_refills);
	suite_add_tcase(s, codec);

	tcase_add_test(payloads, ack_parse_uses_members_in_any_order);
	tcase_add_test(payloads, ack_parse_reads_the_agent_layout_as_json_would);
	tcase_add_test(payloads, ack_parse_strings_mean_their_json_value);
	tcase_add_test(payloads, ack_build_matches_jansson_byte_for_byte);
	tcase_add_test(payloads, ack_parse_requires_an_integer_sequence);
	tcase_add_test(payloads, kms_request_is_declined_as_unsupported);
	tcase_add_test(payloads, port_session_and_unknown_actions_are_unsupported);
	tcase_add_test(payloads, handshake_request_refuses_bad_shapes);
	tcase_add_test(payloads, handshake_complete_and_channel_closed_parse);
	tcase_add_test(payloads, long_texts_are_cut_on_a_character_boundary);
	suite_add_tcase(s, payloads);
	return s;
}

UNIT_MAIN(ssm_message_suite)
