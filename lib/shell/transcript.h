/* A terminal's output kept for its close row, within a cap, head and tail: the first half of
 * the cap (rounded up) keeps the start of the session, a ring of the other half its latest
 * output, so that the end of a session (where incidents happen) is never lost however much
 * scrolled by in between. */
#ifndef PERISCOPE_TRANSCRIPT_H
#define PERISCOPE_TRANSCRIPT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

struct transcript {
	unsigned char *head;
	size_t head_cap, head_len;
	unsigned char *tail;          /* a ring: tail_len bytes ending before tail_pos */
	size_t tail_cap, tail_len, tail_pos;
	long long total;              /* every byte seen */
};

/* cap: bytes kept at most (>= 2). 0, or -1 (out of memory). */
int transcript_init(struct transcript *t, size_t cap);
void transcript_add(struct transcript *t, const void *data, size_t len);
bool transcript_truncated(const struct transcript *t);
/* The close row's fields (docs/node-shell.md §8). Into extra: transcript_bytes (total),
 * truncated, and when bytes were dropped truncated_at (the offset where the head stops) and
 * tail_from (the offset where the tail starts). Into members, as JSON object members
 * (`"key":"text"`, comma-separated, for audit_event.extra_raw: a megabyte of text through
 * jansson costs ~100 instructions a byte): when nothing was dropped, transcript
 * (everything); else transcript (the head) and transcript_tail (the latest bytes, from a
 * character boundary). Text is UTF-8, invalid bytes replaced by U+FFFD. 0, or -1 (out of
 * memory or past members' maximum). Past the cap the tail's ring is put in order in place
 * (no copy of it); adding may go on afterwards. */
int transcript_to_json(struct transcript *t, json_t *extra, struct buf *members);
/* The keys transcript_to_json may write into members (NULL-terminated). */
const char *const *transcript_member_keys(void);
/* The kept bytes in order, malloc'd (NUL-terminated; *len without it): the head, then sep
 * when bytes were dropped between head and tail, then the tail. NULL when out of memory. */
char *transcript_join(const struct transcript *t, const char *sep, size_t *len);
void transcript_free(struct transcript *t);

#endif
