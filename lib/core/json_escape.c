#include "core/json_escape.h"

#include <stdint.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "core/utf8.h"

#define ONES 0x0101010101010101ULL
#define HIGH 0x8080808080808080ULL

/* Bytes taken per reservation: the buffer grows with the text, not by 6x the input. */
#define BLOCK 4096

/* The high bit of each byte of the word that may need an escape. A byte below 0x20 borrows
 * in x - 0x20.., a '"' or '\\' is a zero byte of x ^ that character and borrows in its
 * - 0x01.., a byte from 0x80 on has its high bit set in x itself (which also covers
 * whatever the other terms say of it). A borrow can mark the byte above a marked one too:
 * that only sends the word to the byte-wise check. */
static uint64_t marks(uint64_t x)
{
	return ((x - ONES * 0x20) | ((x ^ (ONES * '"')) - ONES) | ((x ^ (ONES * '\\')) - ONES) | x) &
	       HIGH;
}

static int byte_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

size_t json_plain_prefix(const unsigned char *p, size_t len)
{
	size_t i = 0;
	uint64_t w, m;

#ifdef __SSE2__
	/* Sixteen bytes a step (SSE2 is in every x86-64 CPU): as signed bytes, everything from
	 * 0x80 on is negative, so one "less than 0x20" finds both controls and non-ASCII. */
	for (; i + 16 <= len; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
		__m128i bad = _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
					   _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
							_mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
		int mask = _mm_movemask_epi8(bad);

		if (mask)
			return i + (size_t)__builtin_ctz((unsigned)mask);
	}
#endif
	for (; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		m = marks(w);
		if (m) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			/* The lowest mark is a byte to escape: a false mark only follows a true one. */
			return i + (size_t)(__builtin_ctzll(m) >> 3);
#else
			break;
#endif
		}
	}
	while (i < len && byte_plain(p[i]))
		i++;
	return i;
}

/* The escape of one ASCII byte that needs one, as jansson's dump_string writes it; NUL,
 * which utf8_sanitize replaces, is U+FFFD. Returns the bytes written (at most 6). */
static size_t escape_ascii(unsigned char c, char *o)
{
	static const char hex[] = "0123456789ABCDEF";
	char short_form = 0;

	switch (c) {
	case 0: memcpy(o, "\xEF\xBF\xBD", 3); return 3;
	case '"': short_form = '"'; break;
	case '\\': short_form = '\\'; break;
	case '\b': short_form = 'b'; break;
	case '\f': short_form = 'f'; break;
	case '\n': short_form = 'n'; break;
	case '\r': short_form = 'r'; break;
	case '\t': short_form = 't'; break;
	default: break;
	}
	o[0] = '\\';
	if (short_form) {
		o[1] = short_form;
		return 2;
	}
	memcpy(o + 1, "u00", 3);
	o[4] = hex[c >> 4];
	o[5] = hex[c & 15];
	return 6;
}

int json_escape_sanitized(struct buf *out, const unsigned char *data, size_t len)
{
	size_t i = 0;
	char *o;

	if (buf_append(out, "\"", 1) != 0)
		return -1;
	while (i < len) {
		/* A block, plus a sequence that starts in it and ends past it: 6 bytes of output
		 * per byte of input at most (\u00XX). */
		size_t end = len - i > BLOCK ? i + BLOCK : len, w = 0;

		o = buf_room(out, (end - i + 3) * 6);
		if (!o)
			return -1;
		while (i < end) {
			size_t run = json_plain_prefix(data + i, end - i), n;

			memcpy(o + w, data + i, run);
			w += run;
			i += run;
			if (i >= end)
				break;
			if (data[i] < 0x80) {
				w += escape_ascii(data[i], o + w);
				i++;
				continue;
			}
			n = utf8_sequence_length(data + i, len - i);
			if (n) {
				memcpy(o + w, data + i, n);
				w += n;
				i += n;
			} else {
				memcpy(o + w, "\xEF\xBF\xBD", 3);
				w += 3;
				i++;
			}
		}
		buf_commit(out, w);
	}
	return buf_append(out, "\"", 1);
}
