/* Client frames built by net/ws_frame.c: the bytes RFC 6455 prescribes (its own example,
 * each length encoding at its boundaries), masking that equals the byte-by-byte definition
 * at every length and alignment, and wslay, acting as the server, reading back what was
 * sent. */
#include <wslay/wslay.h>

#include "net/ws_frame.h"
#include "unit.h"

/* RFC 6455 section 5.7: "A single-frame masked text message" ("Hello", key 37 fa 21 3d). */
START_TEST(the_rfc_masked_hello_is_byte_exact)
{
	static const uint8_t key[4] = { 0x37, 0xfa, 0x21, 0x3d };
	static const uint8_t expected[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
					    0x7f, 0x9f, 0x4d, 0x51, 0x58 };
	uint8_t out[32];

	ck_assert_uint_eq(ws_frame_size(5), sizeof expected);
	ck_assert_uint_eq(ws_frame_build(out, 0x1, "Hello", 5, key), sizeof expected);
	ck_assert_mem_eq(out, expected, sizeof expected);
}
END_TEST

/* Section 5.2: 7-bit lengths up to 125, 126 + 16 bits up to 65535, 127 + 64 bits above,
 * always the shortest form, the mask bit always set. */
START_TEST(lengths_take_the_shortest_encoding_at_each_boundary)
{
	static const uint8_t key[4] = { 1, 2, 3, 4 };
	static const struct {
		size_t len;
		size_t head;
		uint8_t bytes[10];
	} cases[] = {
		{ 0, 2, { 0x82, 0x80 } },
		{ 125, 2, { 0x82, 0xfd } },
		{ 126, 4, { 0x82, 0xfe, 0x00, 0x7e } },
		{ 65535, 4, { 0x82, 0xfe, 0xff, 0xff } },
		{ 65536, 10, { 0x82, 0xff, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00 } },
	};
	uint8_t *payload = unit_malloc(65536), *out = unit_malloc(65536 + WS_FRAME_HEADER_MAX);

	memset(payload, 'x', 65536);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t n = ws_frame_build(out, 0x2, payload, cases[i].len, key);

		ck_assert_uint_eq(n, cases[i].head + 4 + cases[i].len);
		ck_assert_uint_eq(ws_frame_size(cases[i].len), n);
		ck_assert_mem_eq(out, cases[i].bytes, cases[i].head);
		ck_assert_mem_eq(out + cases[i].head, key, 4);
	}
	free(payload);
	free(out);
}
END_TEST

START_TEST(word_masking_equals_the_definition_at_every_length_and_alignment)
{
	static const uint8_t key[4] = { 0xa5, 0x00, 0xff, 0x3c };
	uint8_t src[96], dst[96], ref[96], inplace[96];

	for (size_t i = 0; i < sizeof src; i++)
		src[i] = (uint8_t)(i * 37 + 11);
	for (size_t off = 0; off < 8; off++) {
		for (size_t len = 0; len + off <= 80; len++) {
			for (size_t i = 0; i < len; i++)
				ref[i] = src[off + i] ^ key[i % 4];
			memset(dst, 0xee, sizeof dst);
			ws_mask(dst + (7 - off), src + off, len, key);
			ck_assert_mem_eq(dst + (7 - off), ref, len);
			/* Nothing written past the end. */
			ck_assert_uint_eq(dst[7 - off + len], 0xee);
			memcpy(inplace, src, sizeof src);
			ws_mask(inplace + off, inplace + off, len, key);
			ck_assert_mem_eq(inplace + off, ref, len);
		}
	}
}
END_TEST

/* wslay as the server: it refuses unmasked client frames and unmasks the rest. */
struct feed {
	const uint8_t *data;
	size_t len, off;
	int opcode;
	uint8_t got[70000];
	size_t got_len;
	int messages;
};

static ssize_t feed_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
			 void *user)
{
	struct feed *f = user;
	size_t n = f->len - f->off < len ? f->len - f->off : len;

	(void)flags;
	if (n == 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	memcpy(buf, f->data + f->off, n);
	f->off += n;
	return (ssize_t)n;
}

static ssize_t feed_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
			 int flags, void *user)
{
	(void)ctx;
	(void)data;
	(void)flags;
	(void)user;
	return (ssize_t)len;
}

static void feed_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
		     void *user)
{
	struct feed *f = user;

	(void)ctx;
	f->opcode = arg->opcode;
	f->messages++;
	if (arg->msg_length <= sizeof f->got) {
		if (arg->msg_length)   /* wslay hands an empty message as NULL */
			memcpy(f->got, arg->msg, arg->msg_length);
		f->got_len = arg->msg_length;
	}
}

START_TEST(wslay_as_the_server_reads_back_every_frame)
{
	static const size_t lens[] = { 0, 1, 7, 8, 125, 126, 4097, 65535, 65536 };
	struct wslay_event_callbacks cb = { .recv_callback = feed_recv,
					    .send_callback = feed_send,
					    .on_msg_recv_callback = feed_msg };
	uint8_t *payload = unit_malloc(65536), *frames = unit_malloc(200000);
	struct feed *f = unit_malloc(sizeof *f);
	wslay_event_context_ptr ctx;
	size_t total = 0, sum = 0;

	for (size_t i = 0; i < 65536; i++)
		payload[i] = (uint8_t)(i ^ (i >> 8));
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		uint8_t key[4] = { (uint8_t)(i + 1), 0x5a, (uint8_t)(0xf0 ^ i), 0x11 };

		total += ws_frame_build(frames + total, 0x2, payload, lens[i], key);
	}
	memset(f, 0, sizeof *f);
	f->data = frames;
	f->len = total;
	ck_assert_int_eq(wslay_event_context_server_init(&ctx, &cb, f), 0);
	wslay_event_config_set_max_recv_msg_length(ctx, 1 << 20);
	ck_assert_int_eq(wslay_event_recv(ctx), 0);
	/* Each message arrives whole: check the last one's bytes and count them all. */
	ck_assert_int_eq(f->messages, (int)(sizeof lens / sizeof lens[0]));
	ck_assert_int_eq(f->opcode, WSLAY_BINARY_FRAME);
	ck_assert_uint_eq(f->got_len, 65536);
	ck_assert_mem_eq(f->got, payload, 65536);
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
		sum += ws_frame_size(lens[i]);
	ck_assert_uint_eq(sum, total);
	/* No close frame was queued: the server saw nothing wrong. */
	ck_assert(!wslay_event_get_close_sent(ctx));
	wslay_event_context_free(ctx);
	free(payload);
	free(frames);
	free(f);
}
END_TEST

START_TEST(wslay_as_the_server_refuses_an_unmasked_frame)
{
	static const uint8_t unmasked[] = { 0x82, 0x03, 'a', 'b', 'c' };
	struct wslay_event_callbacks cb = { .recv_callback = feed_recv,
					    .send_callback = feed_send,
					    .on_msg_recv_callback = feed_msg };
	struct feed *f = unit_malloc(sizeof *f);
	wslay_event_context_ptr ctx;

	/* The control for the test above: the same reader does check the mask bit. */
	memset(f, 0, sizeof *f);
	f->data = unmasked;
	f->len = sizeof unmasked;
	ck_assert_int_eq(wslay_event_context_server_init(&ctx, &cb, f), 0);
	(void)wslay_event_recv(ctx);
	ck_assert_int_eq(f->messages, 0);
	ck_assert(!wslay_event_want_read(ctx));
	wslay_event_context_free(ctx);
	free(f);
}
END_TEST

static Suite *ws_frame_suite(void)
{
	Suite *s = suite_create("ws_frame");
	TCase *t = tcase_create("frame");

	tcase_add_test(t, the_rfc_masked_hello_is_byte_exact);
	tcase_add_test(t, lengths_take_the_shortest_encoding_at_each_boundary);
	tcase_add_test(t, word_masking_equals_the_definition_at_every_length_and_alignment);
	tcase_add_test(t, wslay_as_the_server_reads_back_every_frame);
	tcase_add_test(t, wslay_as_the_server_refuses_an_unmasked_frame);
	suite_add_tcase(s, t);
	return s;
}

UNIT_MAIN(ws_frame_suite)
