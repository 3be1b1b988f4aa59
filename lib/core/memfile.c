#include "core/memfile.h"

#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int memfile_create(struct memfile *m, const char *name, const void *data, size_t len)
{
	const char *p = data;
	size_t done = 0;
	int saved;

	m->fd = memfd_create(name, MFD_CLOEXEC);
	m->path[0] = '\0';
	if (m->fd < 0)
		return -1;
	while (done < len) {
		ssize_t n = write(m->fd, p + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		done += (size_t)n;
	}
	snprintf(m->path, sizeof m->path, "/proc/self/fd/%d", m->fd);
	return 0;
fail:
	saved = errno;
	memfile_close(m);
	errno = saved;
	return -1;
}

void memfile_close(struct memfile *m)
{
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	m->path[0] = '\0';
}
