/* Who may do what: the tier from the user's groups, audit scope, and whether a tier may
 * open a shell. Shared by periscope.fcgi (API and authorizer) and periscope-wsbridge. */
#ifndef PERISCOPE_AUTHZ_H
#define PERISCOPE_AUTHZ_H

#include <jansson.h>
#include <stdbool.h>

#include "config/config.h"
#include "auth/tiers.h"

/* The highest tier of any group listed in groupTiers, else defaultTier (tier mode only;
 * TIER_NONE in the other modes). groups is a JSON array of strings. */
enum tier authz_resolve_tier(const struct authz_config *a, const json_t *groups);
/* auditAdminGroups when set; else tier mode: admin tier; shared mode: member of a
 * non-empty allowedGroups; raw mode: never. */
bool authz_is_audit_admin(const struct authz_config *a, const json_t *groups, enum tier tier);
/* The groups claim of an id_token (an array of strings, or one string) as a JSON array of
 * strings; NULL when the claim is absent. */
json_t *authz_groups_from_claims(const json_t *claims, const char *claim_name);
/* allowedGroups gate at sign-in (empty list = everyone). */
bool authz_may_sign_in(const struct authz_config *a, const json_t *groups);
/* A shell requires tier mode and a tier in the shell's allow-list. */
bool authz_tier_may_open(const struct authz_config *a, const struct string_list *tiers,
			 enum tier tier);

#endif
