#include "shell/frames.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/b64_fast.h"
#include "core/encoding.h"

void client_frame_clear(struct client_frame *f)
{
	free(f->data);
	json_decref(f->ts);
	memset(f, 0, sizeof *f);
}

static int parse_dimension(json_t *v, int *out)
{
	json_int_t n;

	if (!json_is_integer(v))
		return -1;
	n = json_integer_value(v);
	if (n < 1 || n > FRAME_MAX_DIMENSION)
		return -1;
	*out = (int)n;
	return 0;
}

static bool is_b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/' || c == '=';
}

/* The line the web client sends for every keystroke, byte for byte (web/js/shell-session.js:
 * JSON.stringify of {type: 'stdin', data}), read without a JSON parser. Taken only when
 * the string holds nothing but base64 characters, so its JSON value is its bytes and the
 * result is what frame_parse_client_json gives (fuzz_frames checks that on every input);
 * anything else, including every error, goes to the parser. json_loadb was 6.5k of the
 * bridge's 23.6k instructions a keystroke (callgrind, cluster shell, dev/bench keystroke). */
static bool parse_keystroke(const char *line, size_t len, struct client_frame *out)
{
	static const char head[] = "{\"type\":\"stdin\",\"data\":\"", tail[] = "\"}";
	const size_t head_len = sizeof head - 1, tail_len = sizeof tail - 1;
	const char *data = line + head_len;
	size_t data_len;

	if (len < head_len + tail_len || memcmp(line, head, head_len) != 0 ||
	    memcmp(line + len - tail_len, tail, tail_len) != 0)
		return false;
	data_len = len - head_len - tail_len;
	for (size_t i = 0; i < data_len; i++)
		if (!is_b64_char(data[i]))
			return false;
	if (b64_decode(data, data_len, &out->data, &out->len) != 0)
		return false;
	if (out->len > FRAME_MAX_STDIN) {
		client_frame_clear(out);
		return false;
	}
	out->type = CLIENT_STDIN;
	return true;
}

int frame_parse_client(const char *line, size_t len, struct client_frame *out, char *err,
		       size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (len > FRAME_MAX_LINE) {
		snprintf(err, errlen, "frame longer than %d bytes", FRAME_MAX_LINE);
		return -1;
	}
	if (parse_keystroke(line, len, out))
		return 0;
	return frame_parse_client_json(line, len, out, err, errlen);
}

int frame_parse_client_json(const char *line, size_t len, struct client_frame *out, char *err,
			    size_t errlen)
{
	json_error_t jerr;
	json_t *o = NULL;
	const char *type;
	int rc = -1;

	memset(out, 0, sizeof *out);
	if (len > FRAME_MAX_LINE) {
		snprintf(err, errlen, "frame longer than %d bytes", FRAME_MAX_LINE);
		return -1;
	}
	o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o || !json_is_object(o)) {
		snprintf(err, errlen, "not a JSON object");
		goto done;
	}
	type = json_string_value(json_object_get(o, "type"));
	if (!type) {
		snprintf(err, errlen, "frame has no type");
		goto done;
	}
	if (strcmp(type, "stdin") == 0) {
		json_t *d = json_object_get(o, "data");
		if (!json_is_string(d) ||
		    b64_decode(json_string_value(d), json_string_length(d), &out->data, &out->len) != 0) {
			snprintf(err, errlen, "stdin.data must be base64");
			goto done;
		}
		if (out->len > FRAME_MAX_STDIN) {
			snprintf(err, errlen, "stdin.data longer than %d bytes", FRAME_MAX_STDIN);
			goto done;
		}
		out->type = CLIENT_STDIN;
	} else if (strcmp(type, "resize") == 0) {
		if (parse_dimension(json_object_get(o, "cols"), &out->cols) != 0 ||
		    parse_dimension(json_object_get(o, "rows"), &out->rows) != 0) {
			snprintf(err, errlen, "resize needs integer cols and rows from 1 to %d",
				 FRAME_MAX_DIMENSION);
			goto done;
		}
		out->type = CLIENT_RESIZE;
	} else if (strcmp(type, "ping") == 0) {
		json_t *ts = json_object_get(o, "ts");
		out->type = CLIENT_PING;
		/* Echo only plain scalars: a client cannot make the server build big answers. */
		if (json_is_number(ts) || (json_is_string(ts) && json_string_length(ts) <= 64))
			out->ts = json_incref(ts);
	} else if (strcmp(type, "close") == 0) {
		out->type = CLIENT_CLOSE;
	} else {
		snprintf(err, errlen, "unknown frame type \"%.32s\"", type);
		goto done;
	}
	rc = 0;
done:
	json_decref(o);
	if (rc != 0)
		client_frame_clear(out);
	return rc;
}

/* Few: each try parses up to a whole line, and a client frame has no nested object. */
#define FRAME_TAIL_TRIES 4

int frame_parse_client_tail(const char *line, size_t len, struct client_frame *out,
			    size_t *skipped, char *err, size_t errlen)
{
	int tries = 0;

	*skipped = 0;
	if (frame_parse_client(line, len, out, err, errlen) == 0)
		return 0;
	for (size_t i = len; i-- > 1 && tries < FRAME_TAIL_TRIES;) {
		char ignored[128];

		if (line[i] != '{')
			continue;
		tries++;
		if (frame_parse_client(line + i, len - i, out, ignored, sizeof ignored) == 0) {
			*skipped = i;
			return 0;
		}
	}
	return -1;
}

int frame_stdout(struct buf *out, const void *data, size_t len)
{
	static const char head[] = "{\"type\":\"stdout\",\"data\":\"", tail[] = "\"}\n";
	size_t enc_len = B64_ENCODED_LENGTH(len);
	size_t total = sizeof head - 1 + enc_len + sizeof tail - 1;
	char *p = buf_room(out, total);

	/* Built by hand and encoded in place: base64 needs no JSON escaping, and this is the
	 * hot path. 12.7 instructions a byte through gnutls_base64_encode2 (48-byte lines, a
	 * copy and an allocation a frame), 10.5 with nettle's base64_encode_raw in place, ~3.5
	 * with b64_encode_into (callgrind, core/b64_fast.h). */
	if (!p)
		return -1;
	memcpy(p, head, sizeof head - 1);
	b64_encode_into(p + sizeof head - 1, data, len);
	memcpy(p + sizeof head - 1 + enc_len, tail, sizeof tail - 1);
	buf_commit(out, total);
	return 0;
}

int frame_object(struct buf *out, json_t *obj)
{
	char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	int rc = -1;

	json_decref(obj);
	if (text) {
		rc = buf_append_str(out, text) | buf_append_str(out, "\n");
		free(text);
	}
	return rc ? -1 : 0;
}

int frame_pong(struct buf *out, json_t *ts)
{
	json_t *o = json_pack("{s:s}", "type", "pong");

	if (o && ts)
		json_object_set(o, "ts", ts);
	return frame_object(out, o);
}

int frame_idle_warn(struct buf *out, int seconds_remaining)
{
	return frame_object(out, json_pack("{s:s, s:i}", "type", "idle_warn", "secondsRemaining",
					   seconds_remaining));
}

int frame_closed(struct buf *out, const char *reason, int exit_code)
{
	return frame_object(out, json_pack("{s:s, s:s, s:i}", "type", "closed", "reason", reason,
					   "exitCode", exit_code));
}

int frame_error(struct buf *out, const char *code, const char *message, bool retryable,
		bool fatal)
{
	return frame_object(out, json_pack("{s:s, s:s, s:s, s:b, s:b}", "type", "error", "code", code,
					   "message", message, "retryable", retryable, "fatal", fatal));
}
