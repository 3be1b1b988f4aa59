#include "shell/file_ring.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* An unnamed file in dir: O_TMPFILE, else a named one unlinked at once (filesystems
 * without O_TMPFILE answer EOPNOTSUPP, or EISDIR/EINVAL on older kernels). */
static int open_unnamed(const char *dir)
{
	char path[4096];
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
	if (snprintf(path, sizeof path, "%s/.ring-XXXXXX", dir) >= (int)sizeof path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0 && unlink(path) != 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int file_ring_open(struct file_ring *fr, const char *dir, size_t cap)
{
	memset(fr, 0, sizeof *fr);
	fr->cap = cap ? cap : 1;
	fr->stage_cap = fr->cap < FILE_RING_STAGE ? fr->cap : FILE_RING_STAGE;
	fr->stage = malloc(fr->stage_cap);
	if (!fr->stage) {
		errno = ENOMEM;
		fr->fd = -1;
		return -1;
	}
	fr->fd = open_unnamed(dir);
	return fr->fd >= 0 ? 0 : -1;
}

/* n bytes at ring position at (wrapping at cap), into the file. */
static int write_at(struct file_ring *fr, size_t at, const char *p, size_t n)
{
	while (n > 0) {
		size_t run = fr->cap - at < n ? fr->cap - at : n;
		ssize_t w = pwrite(fr->fd, p, run, (off_t)at);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		p += w;
		n -= (size_t)w;
		at = (at + (size_t)w) % fr->cap;
	}
	return 0;
}

/* The staged bytes (the stage_len <= cap bytes before pos) into the file. */
static int flush_stage(struct file_ring *fr)
{
	size_t n = fr->stage_len;

	if (n == 0)
		return 0;
	if (write_at(fr, (fr->pos + fr->cap - n) % fr->cap, fr->stage, n) != 0)
		return -1;
	fr->stage_len = 0;
	return 0;
}

int file_ring_put(struct file_ring *fr, const void *data, size_t len)
{
	const char *p = data;

	if (fr->fd < 0) {
		errno = EBADF;
		return -1;
	}
	if (len > fr->cap) {
		fr->dropped += (long long)(len - fr->cap);
		p += len - fr->cap;
		len = fr->cap;
	}
	if (fr->stage_len + len > fr->stage_cap && flush_stage(fr) != 0)
		return -1;
	if (len > fr->stage_cap) {
		/* Larger than a block: straight to the file. */
		if (write_at(fr, fr->pos, p, len) != 0)
			return -1;
	} else {
		memcpy(fr->stage + fr->stage_len, p, len);
		fr->stage_len += len;
	}
	fr->pos = (fr->pos + len) % fr->cap;
	if (fr->len + len > fr->cap) {
		fr->dropped += (long long)(fr->len + len - fr->cap);
		fr->len = fr->cap;
	} else {
		fr->len += len;
	}
	return 0;
}

ssize_t file_ring_read(struct file_ring *fr, size_t off, void *out, size_t n)
{
	char *o = out;
	size_t done = 0;

	if (fr->fd < 0) {
		errno = EBADF;
		return -1;
	}
	if (flush_stage(fr) != 0)
		return -1;
	if (off >= fr->len)
		return 0;
	if (n > fr->len - off)
		n = fr->len - off;
	while (done < n) {
		size_t at = (fr->pos + fr->cap - fr->len + off + done) % fr->cap;
		size_t run = fr->cap - at < n - done ? fr->cap - at : n - done;
		ssize_t r = pread(fr->fd, o + done, run, (off_t)at);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO;
			return -1;
		}
		done += (size_t)r;
	}
	return (ssize_t)done;
}

void file_ring_close(struct file_ring *fr)
{
	if (fr->fd >= 0)
		close(fr->fd);
	fr->fd = -1;
	free(fr->stage);
	fr->stage = NULL;
	fr->stage_len = 0;
}
