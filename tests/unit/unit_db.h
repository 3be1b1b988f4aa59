/* A throwaway SQLite database file for unit tests, with the schema migrated. */
#ifndef PERISCOPE_UNIT_DB_H
#define PERISCOPE_UNIT_DB_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "store/db.h"
#include "unit.h"

#define TEST_DB_PATH_MAX 64

/* Makes a fresh empty file path (the database is created by the first open). */
static inline void test_db_create(char path[TEST_DB_PATH_MAX])
{
	int fd;

	strcpy(path, "/tmp/periscope-test-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
}

static inline sqlite3 *test_db_open(const char *path)
{
	sqlite3 *db = NULL;
	char err[256];

	ck_assert_msg(db_open(path, &db, err, sizeof err) == 0, "%s", err);
	return db;
}

static inline void test_db_remove(const char *path)
{
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	char p[TEST_DB_PATH_MAX + 8];

	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s%s", path, suffixes[i]);
		unlink(p);
	}
}

#endif
