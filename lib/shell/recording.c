#include "shell/recording.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/encoding.h"
#include "core/json_escape.h"

#define MARKER_RESERVE 256
#define LINE_MAX_BYTES (8u << 20)
#define ESCAPE_BLOCK 4096

int recording_dir(const struct config *cfg, char *out, size_t outlen)
{
	char *copy;
	int n;

	if (cfg->recording.dir && *cfg->recording.dir) {
		n = snprintf(out, outlen, "%s", cfg->recording.dir);
		return n < 0 || (size_t)n >= outlen ? -1 : 0;
	}
	copy = strdup(cfg->audit.db_path);
	if (!copy)
		return -1;
	n = snprintf(out, outlen, "%s/recordings", dirname(copy));
	free(copy);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int recording_path(const struct config *cfg, const char *session_id, char *out, size_t outlen)
{
	char dir[4096];
	int n;

	if (!recording_id_valid(session_id) || recording_dir(cfg, dir, sizeof dir) != 0)
		return -1;
	n = snprintf(out, outlen, "%s/%s.cast", dir, session_id);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

bool recording_id_valid(const char *id)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

	if (!id || strlen(id) != sizeof shape - 1)
		return false;
	for (size_t i = 0; shape[i]; i++) {
		if (shape[i] == '-' ? id[i] != '-' : !strchr("0123456789abcdef", id[i]))
			return false;
	}
	return true;
}

/* The length of the valid UTF-8 sequence at p (1 to 4), 0 when it is incomplete at the end
 * of the input, or -k when its first k bytes are a maximal invalid subpart (one U+FFFD,
 * as Python's "replace" error handler, which asciinema's recorder uses, gives). */
static int utf8_step(const unsigned char *p, size_t avail)
{
	unsigned char b = p[0], lo = 0x80, hi = 0xBF;
	int need;

	if (b < 0x80)
		return 1;
	if (b >= 0xC2 && b <= 0xDF)
		need = 1;
	else if (b >= 0xE0 && b <= 0xEF) {
		need = 2;
		if (b == 0xE0)
			lo = 0xA0;
		else if (b == 0xED)
			hi = 0x9F;
	} else if (b >= 0xF0 && b <= 0xF4) {
		need = 3;
		if (b == 0xF0)
			lo = 0x90;
		else if (b == 0xF4)
			hi = 0x8F;
	} else
		return -1;
	for (int k = 1; k <= need; k++) {
		if ((size_t)k >= avail)
			return 0;
		if (p[k] < lo || p[k] > hi)
			return -k;
		lo = 0x80;
		hi = 0xBF;
	}
	return need + 1;
}

/* One ASCII byte that needs an escape, as asciinema's json.dumps writes it (lower-case
 * hex); returns the bytes written (at most 6). */
static size_t escape_ascii(unsigned char c, char *o)
{
	static const char hex[] = "0123456789abcdef";
	char short_form = 0;

	switch (c) {
	case '"': short_form = '"'; break;
	case '\\': short_form = '\\'; break;
	case '\n': short_form = 'n'; break;
	case '\r': short_form = 'r'; break;
	case '\t': short_form = 't'; break;
	case '\b': short_form = 'b'; break;
	case '\f': short_form = 'f'; break;
	default: break;
	}
	o[0] = '\\';
	if (short_form) {
		o[1] = short_form;
		return 2;
	}
	if (c >= 0x20) {
		o[0] = (char)c;
		return 1;
	}
	memcpy(o + 1, "u00", 3);
	o[4] = hex[c >> 4];
	o[5] = hex[c & 15];
	return 6;
}

long long recording_escape(struct buf *out, const unsigned char *p, size_t len, bool final)
{
	size_t i = 0;

	while (i < len) {
		/* Room for a block at 6 bytes out per byte in (\u00XX), and for a sequence that
		 * starts in it and ends past it: the line grows with the text, not by 6x. */
		size_t end = len - i > ESCAPE_BLOCK ? i + ESCAPE_BLOCK : len, w = 0;
		char *o = buf_room(out, (end - i + 3) * 6);

		if (!o)
			return -1;
		while (i < end) {
			/* Most terminal output is plain ASCII that needs no escape: found eight bytes
			 * at a time and copied as one run. */
			size_t run = json_plain_prefix(p + i, end - i);
			int n;

			memcpy(o + w, p + i, run);
			w += run;
			i += run;
			if (i >= end)
				break;
			if (p[i] < 0x80) {
				w += escape_ascii(p[i], o + w);
				i++;
				continue;
			}
			n = utf8_step(p + i, len - i);
			if (n == 0 && !final) {
				buf_commit(out, w);
				return (long long)i;
			}
			if (n <= 0) {
				memcpy(o + w, "\xEF\xBF\xBD", 3);
				w += 3;
				i += n == 0 ? len - i : (size_t)-n;
			} else {
				memcpy(o + w, p + i, (size_t)n);
				w += (size_t)n;
				i += (size_t)n;
			}
		}
		buf_commit(out, w);
	}
	return (long long)i;
}

static void fail(struct recording *r, const char *what)
{
	if (!r->error[0])
		snprintf(r->error, sizeof r->error, "%s: %s", what, strerror(errno));
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

static int write_all(struct recording *r, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(r->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fail(r, "cannot write the recording");
			return -1;
		}
		gnutls_hash(r->sha, p, (size_t)n);
		r->file_bytes += n;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void flush_pending(struct recording *r, long long now_mono)
{
	r->last_flush_mono = now_mono;
	if (r->fd < 0 || r->pending.len == 0)
		return;
	if (write_all(r, r->pending.data, r->pending.len) == 0)
		buf_reset_shrink(&r->pending, RECORDING_FLUSH_BYTES * 2);
}

/* Keeps a whole event line in the ring, the oldest bytes giving way. */
static void ring_put(struct recording *r, const char *data, size_t len)
{
	/* Only sessions past half the cap make the ring's file. */
	if (r->ring.fd < 0 && file_ring_open(&r->ring, r->dir, r->ring_cap) != 0) {
		fail(r, "cannot create the recording's tail file");
		return;
	}
	if (file_ring_put(&r->ring, data, len) != 0)
		fail(r, "cannot write the recording's tail file");
}

/* One formatted line (in r->line) to the head or, once the head is full, the ring. */
static void commit_line(struct recording *r, double t, long long now_mono)
{
	if (!r->cutting && r->head_bytes + (long long)r->line.len > r->head_cap)
		r->cutting = true;
	if (r->cutting) {
		ring_put(r, r->line.data, r->line.len);
	} else {
		if (buf_append(&r->pending, r->line.data, r->line.len) != 0) {
			errno = ENOMEM;
			fail(r, "recording buffer");
			return;
		}
		r->head_bytes += (long long)r->line.len;
		r->last_head_t = t;
		if (r->pending.len >= RECORDING_FLUSH_BYTES)
			flush_pending(r, now_mono);
	}
	buf_reset(&r->line);
}

static void write_header(struct recording *r)
{
	json_t *h = json_pack("{s:i, s:i, s:i, s:I, s:{s:s, s:s}, s:s}", "version", 2, "width",
			      r->cols ? r->cols : RECORDING_DEFAULT_COLS, "height",
			      r->rows ? r->rows : RECORDING_DEFAULT_ROWS, "timestamp",
			      (json_int_t)r->start_wall_s, "env", "TERM", "xterm-256color", "SHELL",
			      "/bin/bash", "title", r->title ? r->title : "");
	char *text = h ? json_dumps(h, JSON_COMPACT) : NULL;

	r->header_done = true;
	if (!text || buf_append_str(&r->pending, text) != 0 || buf_append(&r->pending, "\n", 1) != 0) {
		errno = ENOMEM;
		fail(r, "recording header");
	} else {
		r->head_bytes += (long long)strlen(text) + 1;
	}
	free(text);
	json_decref(h);
}

static double rel_time(const struct recording *r, long long now_mono)
{
	return (double)(now_mono - r->start_mono) / 1000.0;
}

/* An event line's start, `[T, "type", "`, T the seconds since the start as "%.6f" writes
 * them: the clock is in milliseconds, so that is the milliseconds with a point before the
 * last three digits and "000" after, written here because printf's float formatting cost
 * ~3,400 instructions an event (a tenth of the recording's cost per byte). */
static int line_start(struct recording *r, long long now_mono, const char *type)
{
	long long ms = now_mono - r->start_mono;
	char digits[24], *o;
	int n;

	if (ms < 0)
		return buf_printf(&r->line, "[%.6f, \"%s\", \"", rel_time(r, now_mono), type);
	/* "%04lld" (at least "0.000"), by hand: snprintf was ~800 instructions an event. */
	n = (int)format_decimal(ms, digits);
	if (n < 4) {
		memmove(digits + 4 - n, digits, (size_t)n);
		memset(digits, '0', (size_t)(4 - n));
		n = 4;
	}
	o = buf_room(&r->line, (size_t)n + strlen(type) + 16);
	if (!o)
		return -1;
	*o++ = '[';
	memcpy(o, digits, (size_t)n - 3);
	o += n - 3;
	*o++ = '.';
	memcpy(o, digits + n - 3, 3);
	memcpy(o + 3, "000, \"", 6);
	o += 9;
	memcpy(o, type, strlen(type));
	o += strlen(type);
	memcpy(o, "\", \"", 4);
	buf_commit(&r->line, (size_t)(o + 4 - (r->line.data + r->line.len)));
	return 0;
}

static void event_text(struct recording *r, const char *type, const unsigned char *data,
		       size_t len, long long now_mono)
{
	double t = rel_time(r, now_mono);

	if (!r->header_done)
		write_header(r);
	if (r->fd < 0 || line_start(r, now_mono, type) != 0 ||
	    recording_escape(&r->line, data, len, true) < 0 || buf_append(&r->line, "\"]\n", 3) != 0) {
		buf_reset(&r->line);
		return;
	}
	commit_line(r, t, now_mono);
}

int recording_open(struct recording *r, const char *path, long long max_bytes, bool input,
		   const char *title, long long now_wall_ms, long long now_mono, char *err,
		   size_t errlen)
{
	char *copy = NULL;

	memset(r, 0, sizeof *r);
	r->fd = -1;
	r->ring.fd = -1;
	buf_init(&r->line, LINE_MAX_BYTES);
	buf_init(&r->pending, LINE_MAX_BYTES + RECORDING_FLUSH_BYTES);
	if (max_bytes < RECORDING_MIN_BYTES)
		max_bytes = RECORDING_MIN_BYTES;
	r->head_cap = max_bytes / 2;
	r->ring_cap = (size_t)(max_bytes - r->head_cap - MARKER_RESERVE);
	r->input = input;
	r->start_wall_s = now_wall_ms / 1000;
	r->start_mono = r->last_flush_mono = now_mono;
	r->title = strdup(title ? title : "");
	copy = strdup(path);
	r->dir = copy ? strdup(dirname(copy)) : NULL;
	if (!r->title || !r->dir || gnutls_hash_init(&r->sha, GNUTLS_DIG_SHA256) != 0) {
		r->sha = NULL;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (mkdir(r->dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create the recording directory: %s", strerror(errno));
		goto fail;
	}
	r->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (r->fd < 0) {
		snprintf(err, errlen, "cannot create the recording: %s", strerror(errno));
		goto fail;
	}
	free(copy);
	return 0;
fail:
	free(copy);
	return -1;
}

/* Output may end inside a UTF-8 sequence: those bytes wait for the next read. */
void recording_output(struct recording *r, const void *data, size_t len, long long now_mono)
{
	const unsigned char *p = data;
	unsigned char *joined = NULL;
	double t = rel_time(r, now_mono);
	long long used;

	if (r->fd < 0 || len == 0)
		return;
	if (!r->header_done)
		write_header(r);
	if (r->carry_len) {
		joined = malloc(r->carry_len + len);
		if (!joined)
			return;
		memcpy(joined, r->carry, r->carry_len);
		memcpy(joined + r->carry_len, data, len);
		p = joined;
		len += r->carry_len;
		r->carry_len = 0;
	}
	if (line_start(r, now_mono, "o") != 0)
		goto done;
	used = recording_escape(&r->line, p, len, false);
	if (used < 0)
		goto done;
	r->carry_len = len - (size_t)used; /* at most 3: utf8_step stops only at the end */
	memcpy(r->carry, p + used, r->carry_len);
	if (used == 0) {
		buf_reset(&r->line);
		goto done;
	}
	if (buf_append(&r->line, "\"]\n", 3) == 0)
		commit_line(r, t, now_mono);
done:
	buf_reset(&r->line);
	free(joined);
}

void recording_input(struct recording *r, const void *data, size_t len, long long now_mono)
{
	if (r->input && len)
		event_text(r, "i", data, len, now_mono);
}

void recording_resize(struct recording *r, int cols, int rows, long long now_mono)
{
	char size[32];

	if (r->fd < 0 || (cols == r->cols && rows == r->rows))
		return;
	r->cols = cols;
	r->rows = rows;
	if (!r->header_done)
		return; /* the header will carry it */
	snprintf(size, sizeof size, "%dx%d", cols, rows);
	event_text(r, "r", (const unsigned char *)size, strlen(size), now_mono);
}

void recording_tick(struct recording *r, long long now_mono)
{
	if (r->fd < 0 || now_mono - r->last_flush_mono < RECORDING_FLUSH_MS)
		return;
	if (r->pending.len)
		flush_pending(r, now_mono);
	/* Written on time, not on size (or nothing left for the head: past half the cap the
	 * lines go to the tail's file): the output has slowed down, so what a burst grew (up to
	 * twice RECORDING_FLUSH_BYTES, kept between flushes while it streams) is given back
	 * rather than held for the rest of the session. */
	if (r->pending.len == 0)
		buf_reset_shrink(&r->pending, 0);
}

/* The tail, after its marker when bytes were left out, copied from the ring's file a block
 * at a time. Its first whole line: the ring's oldest bytes may start inside one. */
static void write_tail(struct recording *r, long long *left_out)
{
	char *block = malloc(FILE_RING_STAGE);
	size_t skip = 0, off;
	ssize_t n = 0;

	if (!block) {
		errno = ENOMEM;
		fail(r, "recording tail");
		return;
	}
	if (r->ring.dropped) {
		for (off = 0; (n = file_ring_read(&r->ring, off, block, FILE_RING_STAGE)) > 0; off += (size_t)n) {
			char *nl = memchr(block, '\n', (size_t)n);

			if (nl) {
				skip = off + (size_t)(nl - block) + 1;
				break;
			}
		}
		if (n < 0)
			goto failed;
		if (!n)
			skip = r->ring.len;
		*left_out = r->ring.dropped + (long long)skip;
		buf_reset(&r->line);
		if (buf_printf(&r->line,
			       "[%.6f, \"m\", \"recording cut: %lld bytes of events left out "
			       "(recording.maxBytes)\"]\n",
			       r->last_head_t, *left_out) == 0)
			write_all(r, r->line.data, r->line.len);
		buf_reset(&r->line);
	}
	for (off = skip; r->fd >= 0 && (n = file_ring_read(&r->ring, off, block, FILE_RING_STAGE)) > 0;
	     off += (size_t)n)
		if (write_all(r, block, (size_t)n) != 0)
			break;
	if (n < 0)
		goto failed;
	free(block);
	return;
failed:
	fail(r, "cannot read the recording's tail file");
	free(block);
}

void recording_close(struct recording *r, long long now_mono, json_t *extra)
{
	uint8_t md[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1];
	long long left_out = 0;
	json_t *o;

	if (r->fd < 0 && !r->error[0])
		return; /* never recorded */
	if (r->fd >= 0) {
		if (!r->header_done)
			write_header(r);
		if (r->carry_len) {
			/* What was left of a sequence at the end: replaced, as a final decode does. */
			unsigned char rest[4];
			size_t n = r->carry_len;
			memcpy(rest, r->carry, n);
			r->carry_len = 0;
			event_text(r, "o", rest, n, now_mono);
		}
		flush_pending(r, now_mono);
	}
	if (r->fd >= 0 && r->cutting && r->ring.len)
		write_tail(r, &left_out);
	if (r->cutting)
		file_ring_close(&r->ring); /* the ring's file exists only once cutting */
	if (r->fd >= 0 && fsync(r->fd) != 0)
		fail(r, "cannot sync the recording");
	if (r->fd >= 0 && close(r->fd) != 0) {
		r->fd = -1;
		fail(r, "cannot close the recording");
	}
	r->fd = -1;
	if (!extra)
		return;
	o = json_pack("{s:I, s:b}", "bytes", (json_int_t)r->file_bytes, "truncated", left_out > 0);
	if (!o)
		return;
	if (r->sha) {
		gnutls_hash_deinit(r->sha, md);
		r->sha = NULL;
		hex_encode(md, sizeof md, hex);
		json_object_set_new(o, "sha256", json_string(hex));
	}
	if (left_out)
		json_object_set_new(o, "left_out", json_integer(left_out));
	if (r->error[0])
		json_object_set_new(o, "error", json_string(r->error));
	json_object_set_new(extra, "recording", o);
}

void recording_free(struct recording *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	buf_free(&r->line);
	buf_free(&r->pending);
	if (r->cutting)
		file_ring_close(&r->ring);
	free(r->dir);
	r->dir = NULL;
	free(r->title);
	r->title = NULL;
	if (r->sha)
		gnutls_hash_deinit(r->sha, NULL);
	r->sha = NULL;
}
