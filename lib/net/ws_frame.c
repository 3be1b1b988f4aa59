#include "net/ws_frame.h"

#include <string.h>

/* An 8-byte word at any address, allowed to alias the bytes it is read from. */
typedef uint64_t unaligned_u64 __attribute__((aligned(1), may_alias));

void ws_mask(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[WS_MASK_KEY_LEN])
{
	uint8_t k8[8];
	uint64_t k;
	size_t i = 0;

	/* The key repeats every 4 bytes, so it lines up with every 8-byte word that starts
	 * at a multiple of 8 from the payload's start. */
	memcpy(k8, key, 4);
	memcpy(k8 + 4, key, 4);
	memcpy(&k, k8, sizeof k);
	for (; i + 8 <= len; i += 8)
		*(unaligned_u64 *)(dst + i) = *(const unaligned_u64 *)(src + i) ^ k;
	for (; i < len; i++)
		dst[i] = src[i] ^ key[i % 4];
}

size_t ws_frame_build(uint8_t *out, unsigned opcode, const void *payload, size_t len,
		      const uint8_t key[WS_MASK_KEY_LEN])
{
	size_t h = 0;

	out[h++] = (uint8_t)(0x80u | (opcode & 0x0fu));
	if (len < 126) {
		out[h++] = (uint8_t)(0x80u | len);
	} else if (len <= 0xffff) {
		/* §5.2: the minimal number of bytes must be used to encode the length. */
		out[h++] = 0x80u | 126u;
		out[h++] = (uint8_t)(len >> 8);
		out[h++] = (uint8_t)len;
	} else {
		out[h++] = 0x80u | 127u;
		for (int shift = 56; shift >= 0; shift -= 8)
			out[h++] = (uint8_t)((uint64_t)len >> shift);
	}
	memcpy(out + h, key, WS_MASK_KEY_LEN);
	h += WS_MASK_KEY_LEN;
	if (len)
		ws_mask(out + h, payload, len, key);
	return h + len;
}
