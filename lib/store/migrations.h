/* The schema migrations compiled into the binary (generated from sql/ at build time). */
#ifndef PERISCOPE_MIGRATIONS_H
#define PERISCOPE_MIGRATIONS_H

#include <stddef.h>

struct migration {
	int version;
	const char *name;
	const char *sql;
};

/* sql/NNN_*.sql, for SQLite (PRAGMA user_version). */
extern const struct migration migrations[];
extern const size_t migrations_count;
/* sql/pg/NNN_*.sql, for PostgreSQL (the schema_version table): the same version numbers. */
extern const struct migration pg_migrations[];
extern const size_t pg_migrations_count;

#endif
