/* Client-to-server WebSocket frames built in one pass (RFC 6455 §5.2, §5.3): the header,
 * the masking key and the payload masked on its way into the caller's buffer, eight bytes
 * at a time. wslay masks a byte at a time through a 4 KiB bounce buffer after copying the
 * message into its own queue; the relay sends one small frame per SSM acknowledgement and
 * per keystroke, so wsclient builds its data frames here and leaves wslay the control
 * frames. Nothing here allocates. */
#ifndef PERISCOPE_WS_FRAME_H
#define PERISCOPE_WS_FRAME_H

#include <stddef.h>
#include <stdint.h>

/* FIN + opcode, mask bit + 7-bit length, 64-bit extended length, masking key. */
#define WS_FRAME_HEADER_MAX 14
#define WS_MASK_KEY_LEN 4

/* Bytes a masked frame with this payload takes. */
static inline size_t ws_frame_size(size_t payload_len)
{
	return (payload_len < 126 ? 2 : payload_len <= 0xffff ? 4 : 10) + WS_MASK_KEY_LEN +
	       payload_len;
}

/* dst[i] = src[i] ^ key[i % 4] for i < len. dst and src may be the same buffer, or not
 * overlap at all. */
void ws_mask(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[WS_MASK_KEY_LEN]);

/* Writes one final (FIN) masked frame with this opcode (0x1 text, 0x2 binary) into out,
 * which holds ws_frame_size(len) bytes. Returns the bytes written. A control opcode (0x8-0xA)
 * is written as given, without §5.5's 125-byte bound on its payload: control frames are
 * wslay's (net/wsclient.c), which keeps that bound. */
size_t ws_frame_build(uint8_t *out, unsigned opcode, const void *payload, size_t len,
		      const uint8_t key[WS_MASK_KEY_LEN]);

#endif
