#include "aws/ssm_message.h"

#include <endian.h>
#include <stdio.h>
#include <string.h>
#include <uuid/uuid.h>
#include <errno.h>
#include <sys/random.h>
#include <sys/types.h>

#include "core/encoding.h"

/* Field offsets of the fixed header (§D.3). */
enum {
	OFF_HEADER_LENGTH = 0,
	OFF_MESSAGE_TYPE = 4,
	OFF_SCHEMA_VERSION = 36,
	OFF_CREATED_DATE = 40,
	OFF_SEQUENCE_NUMBER = 48,
	OFF_FLAGS = 56,
	OFF_MESSAGE_ID = 64,
	OFF_PAYLOAD_DIGEST = 80,
	OFF_PAYLOAD_TYPE = 112,
	OFF_PAYLOAD_LENGTH = 116,
};

static void put_u32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, sizeof v);
}

static void put_u64(uint8_t *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, sizeof v);
}

static uint32_t get_u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof v);
	return be32toh(v);
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof v);
	return be64toh(v);
}

void ssm_uuid_swap_halves(const uint8_t in[SSM_UUID_LEN], uint8_t out[SSM_UUID_LEN])
{
	uint8_t tmp[SSM_UUID_LEN];

	/* Through tmp so that in and out may be the same array. */
	memcpy(tmp, in + 8, 8);
	memcpy(tmp + 8, in, 8);
	memcpy(out, tmp, SSM_UUID_LEN);
}

void ssm_uuid_generate(uint8_t out[SSM_UUID_LEN])
{
	uuid_generate_random(out);
}

/* Fills the whole pool or fails: a read of more than 256 bytes may come back short when a
 * signal interrupts it (getrandom(2)), so the rest is read again. */
static int pool_refill(struct ssm_uuid_pool *pool)
{
	size_t got = 0;

	while (got < sizeof pool->bytes) {
		ssize_t n = getrandom(pool->bytes + got, sizeof pool->bytes - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		got += (size_t)n;
	}
	pool->used = 0;
	pool->filled = 1;
	return 0;
fail:
	pool->filled = 0;
	return -1;
}

void ssm_uuid_generate_pooled(struct ssm_uuid_pool *pool, uint8_t out[SSM_UUID_LEN])
{
	if ((!pool->filled || pool->used + SSM_UUID_LEN > sizeof pool->bytes) &&
	    pool_refill(pool) != 0) {
		ssm_uuid_generate(out);
		return;
	}
	memcpy(out, pool->bytes + pool->used, SSM_UUID_LEN);
	/* Each byte is used once. */
	explicit_bzero(pool->bytes + pool->used, SSM_UUID_LEN);
	pool->used += SSM_UUID_LEN;
	/* RFC 4122 4.4: version 4 in the high nibble of byte 6, variant 10 in byte 8. */
	out[6] = (uint8_t)((out[6] & 0x0f) | 0x40);
	out[8] = (uint8_t)((out[8] & 0x3f) | 0x80);
}

void ssm_uuid_format(const uint8_t uuid[SSM_UUID_LEN], char out[SSM_UUID_STR_LEN + 1])
{
	uuid_unparse_lower(uuid, out);
}

int ssm_uuid_parse(const char *s, uint8_t out[SSM_UUID_LEN])
{
	if (!s || strlen(s) != SSM_UUID_STR_LEN)
		return -1;
	return uuid_parse(s, out) == 0 ? 0 : -1;
}

/* Checks m and writes it, m->payload_digest as it is. */
static int put_message(const struct ssm_message *m, uint8_t *out, size_t out_cap,
		       size_t *out_len, char *err, size_t errlen)
{
	size_t type_len = strnlen(m->message_type, sizeof m->message_type);
	size_t total = ssm_message_wire_size(m->payload_length);

	if (type_len == 0 || type_len > SSM_MESSAGE_TYPE_LEN) {
		snprintf(err, errlen, "ssm message: type must be 1 to %d characters",
			 SSM_MESSAGE_TYPE_LEN);
		goto fail;
	}
	if (m->payload_length == 0 || !m->payload) {
		snprintf(err, errlen, "ssm message: refusing to build an empty payload");
		goto fail;
	}
	if (m->created_date_ms == 0) {
		snprintf(err, errlen, "ssm message: CreatedDate must not be zero");
		goto fail;
	}
	if (total > out_cap) {
		snprintf(err, errlen, "ssm message: %zu bytes do not fit in %zu", total, out_cap);
		goto fail;
	}
	put_u32(out + OFF_HEADER_LENGTH, SSM_HEADER_LENGTH);
	memset(out + OFF_MESSAGE_TYPE, ' ', SSM_MESSAGE_TYPE_LEN);
	memcpy(out + OFF_MESSAGE_TYPE, m->message_type, type_len);
	put_u32(out + OFF_SCHEMA_VERSION, m->schema_version);
	put_u64(out + OFF_CREATED_DATE, m->created_date_ms);
	put_u64(out + OFF_SEQUENCE_NUMBER, (uint64_t)m->sequence_number);
	put_u64(out + OFF_FLAGS, m->flags);
	ssm_uuid_swap_halves(m->message_id, out + OFF_MESSAGE_ID);
	memcpy(out + OFF_PAYLOAD_DIGEST, m->payload_digest, SSM_DIGEST_LEN);
	put_u32(out + OFF_PAYLOAD_TYPE, m->payload_type);
	put_u32(out + OFF_PAYLOAD_LENGTH, m->payload_length);
	memcpy(out + SSM_HEADER_SIZE, m->payload, m->payload_length);
	*out_len = total;
	return 0;
fail:
	return -1;
}

int ssm_message_encode(struct ssm_message *m, uint8_t *out, size_t out_cap, size_t *out_len,
		       char *err, size_t errlen)
{
	if (m->payload && m->payload_length > 0 &&
	    sha256(m->payload, m->payload_length, m->payload_digest) != 0) {
		snprintf(err, errlen, "ssm message: SHA-256 failed");
		return -1;
	}
	return put_message(m, out, out_cap, out_len, err, errlen);
}

int ssm_message_encode_digested(const struct ssm_message *m, uint8_t *out, size_t out_cap,
				size_t *out_len, char *err, size_t errlen)
{
	return put_message(m, out, out_cap, out_len, err, errlen);
}

/* Publication messages carry no meaningful content and are never validated by peers
 * (§D.14), so only their framing is checked. */
static int is_publication(const char *type)
{
	return strcmp(type, SSM_MT_START_PUBLICATION) == 0 ||
	       strcmp(type, SSM_MT_PAUSE_PUBLICATION) == 0;
}

static void decode_type(const uint8_t *field, char out[SSM_MESSAGE_TYPE_LEN + 1])
{
	size_t n = SSM_MESSAGE_TYPE_LEN;

	memcpy(out, field, SSM_MESSAGE_TYPE_LEN);
	out[SSM_MESSAGE_TYPE_LEN] = '\0';
	/* Go pads with spaces; MGS-originated messages may pad with NULs (§F.2). */
	while (n > 0 && (out[n - 1] == '\0' || out[n - 1] == ' ' || out[n - 1] == '\t' ||
			 out[n - 1] == '\r' || out[n - 1] == '\n'))
		out[--n] = '\0';
}

int ssm_message_decode(const uint8_t *data, size_t len, struct ssm_message *m,
		       char *err, size_t errlen)
{
	uint32_t header_length;
	uint8_t digest[SSM_DIGEST_LEN];

	memset(m, 0, sizeof *m);
	if (len < SSM_HEADER_SIZE) {
		snprintf(err, errlen, "ssm message: %zu bytes is shorter than the %d-byte header",
			 len, SSM_HEADER_SIZE);
		goto fail;
	}
	header_length = get_u32(data + OFF_HEADER_LENGTH);
	m->payload_length = get_u32(data + OFF_PAYLOAD_LENGTH);
	/* A HeaderLength below 116 would make the payload overlap the fixed fields. 64-bit
	 * arithmetic so that no field value can wrap the sum. */
	if (header_length < SSM_HEADER_LENGTH) {
		snprintf(err, errlen, "ssm message: HeaderLength %u is below %d", header_length,
			 SSM_HEADER_LENGTH);
		goto fail;
	}
	if ((uint64_t)header_length + 4 + m->payload_length != (uint64_t)len) {
		snprintf(err, errlen,
			 "ssm message: HeaderLength %u + 4 + PayloadLength %u does not match the %zu-byte frame",
			 header_length, m->payload_length, len);
		goto fail;
	}

	decode_type(data + OFF_MESSAGE_TYPE, m->message_type);
	m->schema_version = get_u32(data + OFF_SCHEMA_VERSION);
	m->created_date_ms = get_u64(data + OFF_CREATED_DATE);
	m->sequence_number = (int64_t)get_u64(data + OFF_SEQUENCE_NUMBER);
	m->flags = get_u64(data + OFF_FLAGS);
	ssm_uuid_swap_halves(data + OFF_MESSAGE_ID, m->message_id);
	memcpy(m->payload_digest, data + OFF_PAYLOAD_DIGEST, SSM_DIGEST_LEN);
	m->payload_type = get_u32(data + OFF_PAYLOAD_TYPE);
	m->payload = data + header_length + 4;

	if (is_publication(m->message_type))
		return 0;
	if (m->message_type[0] == '\0') {
		snprintf(err, errlen, "ssm message: empty MessageType");
		goto fail;
	}
	if (m->created_date_ms == 0) {
		snprintf(err, errlen, "ssm message: CreatedDate is zero");
		goto fail;
	}
	/* The client must check it: session-manager-plugin's OutputMessageHandler
	 * (src/datachannel/streaming.go) calls ClientMessage.Validate
	 * (src/message/messageparser.go), which compares SHA-256 of the payload with
	 * PayloadDigest for every message but the publication ones. sha256() is GnuTLS's, the
	 * fastest here: SHA-NI where the CPU has it (~1.2 GB/s on this machine's), which
	 * valgrind does not emulate, so callgrind counts its SSSE3 code (~30 instructions a
	 * byte). Like both Go implementations, an empty payload's digest is not checked. */
	if (m->payload_length > 0) {
		if (sha256(m->payload, m->payload_length, digest) != 0) {
			snprintf(err, errlen, "ssm message: SHA-256 failed");
			goto fail;
		}
		if (memcmp(digest, m->payload_digest, SSM_DIGEST_LEN) != 0) {
			snprintf(err, errlen, "ssm message: payload digest mismatch");
			goto fail;
		}
	}
	return 0;
fail:
	return -1;
}
