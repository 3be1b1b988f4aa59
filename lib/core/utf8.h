/* Terminal output is bytes; JSON strings must be UTF-8. */
#ifndef PERISCOPE_UTF8_H
#define PERISCOPE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlongs, no surrogates, at most
 * U+10FFFF; not NUL), or 0 when it is not one. left >= 1. */
size_t utf8_sequence_length(const unsigned char *p, size_t left);

/* A malloc'd NUL-terminated copy of data in which every invalid UTF-8 sequence (and NUL)
 * is replaced by U+FFFD, as a JSON encoder would. */
char *utf8_sanitize(const unsigned char *data, size_t len, size_t *out_len);

/* Every byte of data is part of a valid UTF-8 sequence (and none is NUL). */
bool utf8_valid(const unsigned char *data, size_t len);

/* In place: every byte of s that is not part of a valid UTF-8 sequence becomes '?' (for a
 * message cut to a fixed buffer, or one that quotes what a client sent). */
void utf8_scrub(char *s);

#endif
