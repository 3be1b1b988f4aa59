/* A byte ring kept in an unnamed temporary file instead of the process's memory: the newest
 * `cap` bytes of a stream, the oldest giving way. The recording's tail (shell/recording.h)
 * lives here, so that a session that printed hundreds of megabytes does not keep half of
 * recording.maxBytes (32 MiB by default) of its own memory until it closes: the bytes sit
 * in the page cache, which the kernel writes back and reclaims under pressure, and the
 * process keeps one staging block (FILE_RING_STAGE bytes).
 *
 * The file is made with O_TMPFILE in the given directory (no name ever exists, and it goes
 * when the descriptor is closed or the process dies); where the filesystem has no O_TMPFILE
 * a named file is made and unlinked at once. */
#ifndef PERISCOPE_FILE_RING_H
#define PERISCOPE_FILE_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Writes to the file are gathered into blocks of this size (fewer system calls). */
#define FILE_RING_STAGE (64u << 10)

struct file_ring {
	int fd;            /* -1 until file_ring_open */
	size_t cap;        /* bytes kept at most */
	size_t len;        /* bytes kept, ending before pos (staged bytes included) */
	size_t pos;        /* where the next byte goes, 0..cap-1 */
	long long dropped; /* bytes that fell out */
	char *stage;       /* the newest stage_len bytes (those before pos), not yet written */
	size_t stage_len, stage_cap;
};

/* An empty ring of cap (>= 1) bytes with its file in dir. 0, or -1 with errno set. */
int file_ring_open(struct file_ring *fr, const char *dir, size_t cap);
/* Appends; only the last cap bytes of a longer put can stay. 0, or -1 (a write failed,
 * errno set; the ring is then unusable). */
int file_ring_put(struct file_ring *fr, const void *data, size_t len);
/* Copies up to n kept bytes, starting off bytes after the oldest kept byte, into out.
 * Returns the bytes copied (0 past the end), or -1 with errno set. */
ssize_t file_ring_read(struct file_ring *fr, size_t off, void *out, size_t n);
/* Closes the file (its bytes are gone) and frees the stage. Safe on a ring never opened
 * when it was zeroed first with fd = -1. */
void file_ring_close(struct file_ring *fr);

#endif
