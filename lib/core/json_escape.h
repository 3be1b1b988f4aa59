/* JSON string text written straight into a buffer, for text too big or too frequent to go
 * through jansson (a terminal's bytes: a close row's transcript, a recording's events). */
#ifndef PERISCOPE_JSON_ESCAPE_H
#define PERISCOPE_JSON_ESCAPE_H

#include <stddef.h>

#include "core/buf.h"

/* How many bytes from p on need no escape in a JSON string: printable ASCII other than '"'
 * and '\\' (0x20 to 0x7F). Eight bytes per step. */
size_t json_plain_prefix(const unsigned char *p, size_t len);

/* Appends data as a JSON string literal, quotes included: each invalid UTF-8 byte and each
 * NUL becomes U+FFFD (as utf8_sanitize), then the text is escaped as jansson's json_dumps
 * escapes it (\" \\ \b \f \n \r \t, other controls \u00XX in upper case, nothing else),
 * byte for byte. 0, or -1 past the buffer's maximum or out of memory. */
int json_escape_sanitized(struct buf *out, const unsigned char *data, size_t len);

#endif
