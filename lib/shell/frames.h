/* The browser ↔ wsbridge frame protocol (docs/frames.md): one compact JSON object per
 * line, terminal bytes base64 in "data". Parsing never trusts the client: lengths are
 * capped and every field is type-checked. */
#ifndef PERISCOPE_FRAMES_H
#define PERISCOPE_FRAMES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

#define FRAME_MAX_LINE (64 * 1024)
#define FRAME_MAX_STDIN (48 * 1024)
#define FRAME_STDOUT_CHUNK (32 * 1024)
#define FRAME_MAX_DIMENSION 1000

enum client_frame_type { CLIENT_STDIN, CLIENT_RESIZE, CLIENT_PING, CLIENT_CLOSE };

struct client_frame {
	enum client_frame_type type;
	unsigned char *data;   /* CLIENT_STDIN: malloc'd decoded bytes (caller frees) */
	size_t len;
	int cols, rows;        /* CLIENT_RESIZE */
	json_t *ts;            /* CLIENT_PING: the ts to echo, or NULL (caller decrefs) */
};

/* Parses one client line (without its newline). 0, or -1 with a message for an
 * E_BAD_FRAME error frame. */
int frame_parse_client(const char *line, size_t len, struct client_frame *out, char *err,
		       size_t errlen);
/* The same through the JSON parser alone, for every frame: frame_parse_client reads the
 * web client's keystroke line without it and must give what this gives (fuzz_frames). */
int frame_parse_client_json(const char *line, size_t len, struct client_frame *out, char *err,
			    size_t errlen);
void client_frame_clear(struct client_frame *f);
/* As frame_parse_client, but a line that does not parse whole may still end in a frame:
 * stray bytes (a binary WebSocket message, which websocketd delivers without a delimiter)
 * glued to the front of the next text message. The last few '{' of the line are tried as
 * where that message starts; *skipped is how many bytes came before it (0 for a whole
 * frame). On -1, err says what is wrong with the whole line. */
int frame_parse_client_tail(const char *line, size_t len, struct client_frame *out,
			    size_t *skipped, char *err, size_t errlen);

/* Server frames, each appended to out as one line ending in '\n'. */
int frame_stdout(struct buf *out, const void *data, size_t len);
int frame_pong(struct buf *out, json_t *ts);
int frame_idle_warn(struct buf *out, int seconds_remaining);
int frame_closed(struct buf *out, const char *reason, int exit_code);
int frame_error(struct buf *out, const char *code, const char *message, bool retryable,
		bool fatal);
/* Any JSON object as a line (hello, or an error with extra fields). Consumes obj. */
int frame_object(struct buf *out, json_t *obj);

#endif
