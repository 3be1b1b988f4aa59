/* The browser's messages as periscope-wsbridge reads them from websocketd. websocketd 0.4.1
 * in text mode writes each text message with a '\n' appended, and each binary message as
 * its bare bytes (libwebsocketd/websocket_endpoint.go, read_frames), so a binary message's
 * bytes arrive glued to the front of the next text message, and a line is not always one
 * message. This splits stdin into lines; of a line longer than FRAME_MAX_LINE it keeps the
 * last FRAME_MAX_LINE bytes, where the text message that ends it lies when a large binary
 * message came first (frame_parse_client_tail finds it). */
#ifndef PERISCOPE_CLIENT_LINES_H
#define PERISCOPE_CLIENT_LINES_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

/* One complete line without its '\n': the bytes kept, and whether some before them were
 * dropped. A non-zero return stops the feed. */
typedef int (*client_line_fn)(void *ud, const char *line, size_t len, bool overflowed);

/* Feeds n bytes of stdin into the pending line (a buf whose maximum is at least
 * FRAME_MAX_LINE; *overflowed tracks whether it lost bytes at its front), calling fn for
 * each line they complete. Returns the first non-zero result of fn (the rest of data is
 * then dropped), else 0. */
int client_lines_feed(struct buf *line, bool *overflowed, const char *data, size_t n,
		      client_line_fn fn, void *ud);

#endif
