#include "core/b64_fast.h"

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <tmmintrin.h>
#define HAVE_X86_SIMD 1
#endif

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

#ifdef HAVE_X86_SIMD
/* Twelve bytes a step into sixteen characters (SSSE3: every x86-64 CPU since 2006 but the
 * first ones, checked at run time). Each 32-bit lane gets the three bytes of one group,
 * spread so that two multiplies shift its four 6-bit values into four bytes; those become
 * characters by adding an offset that depends on the range the value is in (A-Z, a-z,
 * 0-9, '+', '/'), looked up with one shuffle. Reads 16 bytes per step: stops 4 before the
 * end. Returns the input bytes done (a multiple of 3). */
__attribute__((target("ssse3"))) static size_t encode_ssse3(char *out, const unsigned char *in,
							     size_t len)
{
	/* Lane k takes bytes 3k+1, 3k, 3k+2, 3k+1 (little-endian). */
	const __m128i spread = _mm_set_epi8(10, 11, 9, 10, 7, 8, 6, 7, 4, 5, 3, 4, 1, 2, 0, 1);
	/* The offset to add to a value, by the index the range test below gives it. */
	const __m128i offsets = _mm_setr_epi8('a' - 26, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
					      '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
					      '0' - 52, '+' - 62, '/' - 63, 'A', 0, 0);
	size_t i = 0;

	for (; i + 16 <= len; i += 12, out += 16) {
		__m128i v = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(in + i)), spread);
		/* Values 1 and 3 of each group to the low bits of their bytes (multiply high)... */
		__m128i hi = _mm_mulhi_epu16(_mm_and_si128(v, _mm_set1_epi32(0x0fc0fc00)),
					     _mm_set1_epi32(0x04000040));
		/* ...values 2 and 4 likewise (multiply low). */
		__m128i lo = _mm_mullo_epi16(_mm_and_si128(v, _mm_set1_epi32(0x003f03f0)),
					     _mm_set1_epi32(0x01000010));
		__m128i values = _mm_or_si128(hi, lo);
		/* 0 for 26-51, 1-12 for 52-63, 13 for 0-25. */
		__m128i range = _mm_subs_epu8(values, _mm_set1_epi8(51));
		range = _mm_or_si128(range, _mm_and_si128(_mm_cmpgt_epi8(_mm_set1_epi8(26), values),
							 _mm_set1_epi8(13)));
		_mm_storeu_si128((__m128i *)(void *)out,
				 _mm_add_epi8(values, _mm_shuffle_epi8(offsets, range)));
	}
	return i;
}
#endif

void b64_encode_into(char *out, const void *data, size_t len)
{
	const unsigned char *in = data;
	size_t i = 0;
	uint64_t w;

#ifdef HAVE_X86_SIMD
	if (len >= 16 && __builtin_cpu_supports("ssse3")) {
		i = encode_ssse3(out, in, len);
		out += i / 3 * 4;
	}
#endif

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
