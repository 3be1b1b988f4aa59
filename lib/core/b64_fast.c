#include "core/b64_fast.h"

#include <stdint.h>
#include <string.h>

/* The base64 character of a 6-bit value, as a constant expression. */
#define C(v) ((char)((v) < 26 ? 'A' + (v) : (v) < 52 ? 'a' + (v) - 26 : (v) < 62 ? '0' + (v) - 52 : (v) == 62 ? '+' : '/'))
#define PAIR(n) C((n) >> 6), C((n) & 63)
#define P4(n) PAIR(n), PAIR((n) + 1), PAIR((n) + 2), PAIR((n) + 3)
#define P16(n) P4(n), P4((n) + 4), P4((n) + 8), P4((n) + 12)
#define P64(n) P16(n), P16((n) + 16), P16((n) + 32), P16((n) + 48)
#define P256(n) P64(n), P64((n) + 64), P64((n) + 128), P64((n) + 192)
#define P1024(n) P256(n), P256((n) + 256), P256((n) + 512), P256((n) + 768)

/* The two characters of every 12-bit value, computed by the compiler (8 KiB, read-only). */
static const char pairs[4096 * 2] = { P1024(0), P1024(1024), P1024(2048), P1024(3072) };

static void put_pair(char *out, unsigned v)
{
	memcpy(out, pairs + 2 * v, 2);
}

void b64_encode_into(char *out, const void *data, size_t len)
{
	const unsigned char *in = data;
	size_t i = 0;
	uint64_t w;

	/* Six bytes a step, read as one big-endian word of which the top 48 bits are used. */
	for (; i + 8 <= len; i += 6, out += 8) {
		memcpy(&w, in + i, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		w = __builtin_bswap64(w);
#endif
		put_pair(out, (unsigned)(w >> 52));
		put_pair(out + 2, (unsigned)(w >> 40) & 0xfff);
		put_pair(out + 4, (unsigned)(w >> 28) & 0xfff);
		put_pair(out + 6, (unsigned)(w >> 16) & 0xfff);
	}
	for (; i + 3 <= len; i += 3, out += 4) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		put_pair(out, v >> 12);
		put_pair(out + 2, v & 0xfff);
	}
	if (len - i == 1) {
		unsigned v = (unsigned)in[i] << 4;
		put_pair(out, v);
		memcpy(out + 2, "==", 2);
	} else if (len - i == 2) {
		unsigned v = (unsigned)in[i] << 10 | (unsigned)in[i + 1] << 2;
		put_pair(out, v >> 6);
		out[2] = C(v & 63);
		out[3] = '=';
	}
}
