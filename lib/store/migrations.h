/* The schema migrations compiled into the binary (generated from sql/ at build time). */
#ifndef PERISCOPE_MIGRATIONS_H
#define PERISCOPE_MIGRATIONS_H

#include <stddef.h>

struct migration {
	int version;
	const char *name;
	const char *sql;
};

extern const struct migration migrations[];
extern const size_t migrations_count;

#endif
