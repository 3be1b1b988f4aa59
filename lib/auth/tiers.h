/* Tiers (low to high: read, triage, write, maintain, admin) and their resolution from the
 * user's IdP groups: the highest tier of any group listed in groupTiers, else defaultTier. */
#ifndef PERISCOPE_TIERS_H
#define PERISCOPE_TIERS_H

#include <stdbool.h>
#include <stddef.h>

enum tier { TIER_NONE = 0, TIER_READ, TIER_TRIAGE, TIER_WRITE, TIER_MAINTAIN, TIER_ADMIN };

const char *tier_name(enum tier t);              /* "" for TIER_NONE */
/* Parses a tier name; returns 0 and sets *out, or -1 for an unknown name. */
int tier_parse(const char *name, enum tier *out);

#endif
