/* Terminal output is bytes; JSON strings must be UTF-8. */
#ifndef PERISCOPE_UTF8_H
#define PERISCOPE_UTF8_H

#include <stddef.h>

/* A malloc'd NUL-terminated copy of data in which every invalid UTF-8 sequence (and NUL)
 * is replaced by U+FFFD, as a JSON encoder would. */
char *utf8_sanitize(const unsigned char *data, size_t len, size_t *out_len);

#endif
