#include "shell/client_lines.h"

#include <string.h>

#include "shell/frames.h"

/* Appends, keeping only the last FRAME_MAX_LINE bytes of the line. */
static void append_tail(struct buf *b, bool *overflowed, const char *p, size_t n)
{
	if (b->len + n > FRAME_MAX_LINE) {
		size_t drop = b->len + n - FRAME_MAX_LINE;

		*overflowed = true;
		if (drop >= b->len) {
			p += drop - b->len;
			n -= drop - b->len;
			buf_reset(b);
		} else {
			memmove(b->data, b->data + drop, b->len - drop);
			b->len -= drop;
			b->data[b->len] = '\0';
		}
	}
	if (buf_append(b, p, n) != 0) {
		/* Out of memory: these bytes are lost like any dropped ones. */
		*overflowed = true;
	}
}

int client_lines_feed(struct buf *line, bool *overflowed, const char *data, size_t n,
		      client_line_fn fn, void *ud)
{
	while (n > 0) {
		const char *nl = memchr(data, '\n', n);
		size_t take = nl ? (size_t)(nl - data) : n;
		bool lost;
		int rc;

		append_tail(line, overflowed, data, take);
		if (!nl)
			return 0;
		data += take + 1;
		n -= take + 1;
		lost = *overflowed;
		*overflowed = false;
		rc = fn(ud, line->data ? line->data : "", line->len, lost);
		buf_reset(line);
		if (rc != 0)
			return rc;
	}
	return 0;
}
