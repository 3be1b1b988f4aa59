/* A terminal session recorded as it is relayed, in asciicast v2 (the format of asciinema:
 * a JSON header line, then one JSON array per event: [seconds, "o"|"i"|"r"|"m", "data"]).
 *
 * Written as it goes: events collect in a buffer that goes to the file at least every
 * RECORDING_FLUSH_MS (and whenever it holds RECORDING_FLUSH_BYTES), so a bridge that is
 * killed leaves a file that is complete up to its last second; recording_close fsyncs.
 * Output bytes become JSON strings the way asciinema's own recorder makes them: an
 * incremental UTF-8 decoder (a sequence cut between two reads is joined with the next
 * read) that replaces each maximal invalid subpart by U+FFFD.
 *
 * A cap (recording.maxBytes) keeps the head and the tail: events go to the file until it
 * holds half the cap; then into a ring of the other half, written at close after a marker
 * event ("m") saying how much was left out. The ring is an unnamed temporary file beside the
 * recording (shell/file_ring.h), not the bridge's memory: past the head, a session keeps
 * 64 KiB of the tail in memory however long it runs. */
#ifndef PERISCOPE_RECORDING_H
#define PERISCOPE_RECORDING_H

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "core/buf.h"
#include "shell/file_ring.h"

#define RECORDING_FLUSH_MS 1000
#define RECORDING_FLUSH_BYTES (64u << 10)
#define RECORDING_DEFAULT_COLS 80
#define RECORDING_DEFAULT_ROWS 24

struct recording {
	int fd;                          /* -1: not recording (disabled, or it failed) */
	bool input;                      /* record "i" events (recording.input) */
	char *title;
	long long start_wall_s;
	long long start_mono;            /* event times are relative to this */
	bool header_done;
	int cols, rows;                  /* the size last recorded */
	unsigned char carry[4];          /* an incomplete UTF-8 sequence from the last read */
	size_t carry_len;
	struct buf line;                 /* one event being formatted */
	struct buf pending;              /* head bytes not yet written */
	long long last_flush_mono;
	long long head_cap, head_bytes;  /* bytes of the head (written or pending) */
	double last_head_t;              /* time of the last event of the head */
	bool cutting;                    /* the head is full: events go to the ring */
	char *dir;                       /* the recording's directory: the ring's file goes there */
	size_t ring_cap;                 /* the other half of the cap, less the marker's room */
	struct file_ring ring;           /* the tail; fd -1 until the head is full */
	long long file_bytes;            /* written to the file */
	gnutls_hash_hd_t sha;            /* SHA-256 of everything written */
	char error[160];                 /* the first write failure, when there was one */
};

/* Where a session's recording lives: recording.dir, or "recordings" beside the database
 * when unset, + "/<session_id>.cast". 0, or -1 when it does not fit. */
int recording_dir(const struct config *cfg, char *out, size_t outlen);
int recording_path(const struct config *cfg, const char *session_id, char *out, size_t outlen);
/* A session id as the bridge makes them (lowercase UUID): the only names under the
 * recording directory. */
bool recording_id_valid(const char *id);

/* Creates the file (mode 0600, and its directory 0700 when missing). r->fd stays -1 and
 * -1 is returned when it cannot (why in err). */
int recording_open(struct recording *r, const char *path, long long max_bytes, bool input,
		   const char *title, long long now_wall_ms, long long now_mono, char *err,
		   size_t errlen);
/* Events; each is a no-op when not recording. */
void recording_output(struct recording *r, const void *data, size_t len, long long now_mono);
void recording_input(struct recording *r, const void *data, size_t len, long long now_mono);
void recording_resize(struct recording *r, int cols, int rows, long long now_mono);
/* Writes what waited more than RECORDING_FLUSH_MS, and then gives back the buffer. */
void recording_tick(struct recording *r, long long now_mono);
/* Writes the rest (the tail after its marker), fsyncs, closes and sets the close row's
 * "recording" object: {bytes, sha256, truncated, left_out?, error?}. extra may be NULL. */
void recording_close(struct recording *r, long long now_mono, json_t *extra);
void recording_free(struct recording *r);

/* JSON string contents (no quotes) for terminal bytes, decoded as asciinema does. With
 * final false, an incomplete sequence at the end is left unconsumed; returns the bytes
 * consumed. -1 when out passed its maximum. Exposed for the unit tests. */
long long recording_escape(struct buf *out, const unsigned char *p, size_t len, bool final);

#endif
