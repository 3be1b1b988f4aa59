#include "auth/tiers.h"

#include <string.h>

static const char *const tier_names[] = { "", "read", "triage", "write", "maintain", "admin" };

const char *tier_name(enum tier t)
{
	if ((int)t < 0 || (size_t)t >= sizeof tier_names / sizeof tier_names[0])
		return "";
	return tier_names[t];
}

int tier_parse(const char *name, enum tier *out)
{
	for (size_t i = 1; i < sizeof tier_names / sizeof tier_names[0]; i++) {
		if (strcmp(name, tier_names[i]) == 0) {
			*out = (enum tier)i;
			return 0;
		}
	}
	return -1;
}
