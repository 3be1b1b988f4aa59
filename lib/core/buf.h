/* A growable byte buffer with a hard maximum, so that input can never grow it without
 * limit (the idea of curl's dynbuf). The contents are always NUL-terminated. */
#ifndef PERISCOPE_BUF_H
#define PERISCOPE_BUF_H

#include <stddef.h>
#include <stdarg.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;   /* appends that would exceed this fail with -1 */
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
int buf_append(struct buf *b, const void *data, size_t len);
int buf_append_str(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Room for n more bytes written in place: a pointer to them, or NULL past the maximum or
 * out of memory. buf_commit(b, m) then keeps the m (<= n) bytes written there. */
char *buf_room(struct buf *b, size_t n);
void buf_commit(struct buf *b, size_t n);
/* Drops the first n (<= len) bytes, keeping the rest at the front: a queue's written part. */
void buf_drop_front(struct buf *b, size_t n);
/* Empties the buffer and, if it grew past keep bytes during a burst, gives the memory back. */
void buf_reset_shrink(struct buf *b, size_t keep);
/* Hands the NUL-terminated contents to the caller (free() them) and empties the buffer. */
char *buf_steal(struct buf *b);

#endif
