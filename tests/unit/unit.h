/* Shared scaffolding for the Check-based unit tests: each test program builds one Suite
 * and ends with UNIT_MAIN(suite_fn). dev/test runs them with TAP output. */
#ifndef PERISCOPE_UNIT_H
#define PERISCOPE_UNIT_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

#define UNIT_MAIN(suite_fn)                                       \
	int main(void)                                            \
	{                                                         \
		SRunner *sr = srunner_create(suite_fn());         \
		int failed;                                       \
		srunner_run_all(sr, CK_ENV);                      \
		failed = srunner_ntests_failed(sr);               \
		srunner_free(sr);                                 \
		return failed ? EXIT_FAILURE : EXIT_SUCCESS;      \
	}

/* Allocation in a test: a NULL ends the test (and tells the analyzer it cannot go on). */
static inline void *unit_nonnull(void *p)
{
	ck_assert_ptr_nonnull(p);
	return p;
}
#define unit_malloc(n) unit_nonnull(malloc(n))
#define unit_strdup(s) ((char *)unit_nonnull(strdup(s)))

/* Directory of the source tree (for fixtures), exported by the test environment. */
static inline const char *unit_srcdir(void)
{
	const char *d = getenv("PERISCOPE_SRCDIR");
	return d ? d : ".";
}

/* The whole of tests/unit/data/<name> (a path under data/), NUL-terminated; free() it. */
static inline char *unit_fixture(const char *name, size_t *len)
{
	char path[4096], chunk[4096];
	struct buf b;
	FILE *f;
	size_t n;

	snprintf(path, sizeof path, "%s/tests/unit/data/%s", unit_srcdir(), name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "fixture %s", path);
	buf_init(&b, 1 << 20);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		ck_assert_int_eq(buf_append(&b, chunk, n), 0);
	fclose(f);
	*len = b.len;
	return buf_steal(&b);
}

#endif
