/* Shared scaffolding for the Check-based unit tests: each test program builds one Suite
 * and ends with UNIT_MAIN(suite_fn). dev/test runs them with TAP output. */
#ifndef PERISCOPE_UNIT_H
#define PERISCOPE_UNIT_H

#include <check.h>
#include <stdlib.h>

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

/* Directory of the source tree (for fixtures), exported by the test environment. */
static inline const char *unit_srcdir(void)
{
	const char *d = getenv("PERISCOPE_SRCDIR");
	return d ? d : ".";
}

#endif
