/* ptyhost: the fakes' pseudo-terminal host (ptyhost.c) and its server mode
 * (ptyhost_serve.c). A test helper, never installed. */
#ifndef PTYHOST_H
#define PTYHOST_H

#include <stdbool.h>

/* A frame on a served session's connection, caller to host: type, 4-byte big-endian
 * length, payload. */
#define PTYHOST_FRAME_HEAD 5
#define PTYHOST_FRAME_INPUT 'i'  /* keystrokes for the terminal */
#define PTYHOST_FRAME_RESIZE 'r' /* "COLS ROWS" */

struct options {
	unsigned short cols, rows;
	const char *cwd;
	char **argv;
	char **envp; /* NULL: our own environment */
};

/* Runs o's command in a terminal relayed to stdin/stdout (framed: stdin carries frames,
 * else raw bytes and fd 3 resize lines) and returns its exit status. */
int ptyhost_run(const struct options *o, bool framed);

/* Serves sessions on a Unix socket at path until stdin ends or the caller dies. */
int ptyhost_serve(const char *path);

bool ptyhost_parse_dimension(const char *s, unsigned short *out);

#endif
