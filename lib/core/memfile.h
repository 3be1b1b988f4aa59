/* Bytes handed to a library that only takes a file name (libcurl's GnuTLS build reads CA
 * bundles, client certificates and keys only from files) without writing them to disk: an
 * anonymous memory file (memfd_create), named by /proc/self/fd/N. It lives as long as the
 * descriptor; nothing is left behind when the process dies. */
#ifndef PERISCOPE_MEMFILE_H
#define PERISCOPE_MEMFILE_H

#include <stddef.h>

struct memfile {
	int fd;              /* -1 when empty */
	char path[40];       /* "/proc/self/fd/N" */
};

#define MEMFILE_INIT { .fd = -1 }

/* Creates the file with data (name is only a label for /proc). 0, or -1 with errno. */
int memfile_create(struct memfile *m, const char *name, const void *data, size_t len);
/* Closes it (the memory goes with the last descriptor). */
void memfile_close(struct memfile *m);

#endif
