#include "auth/authz.h"

#include <string.h>

static bool in_groups(const json_t *groups, const char *name)
{
	size_t i;
	json_t *g;

	json_array_foreach(groups, i, g) {
		const char *s = json_string_value(g);
		if (s && strcmp(s, name) == 0)
			return true;
	}
	return false;
}

static bool any_in_groups(const struct string_list *list, const json_t *groups)
{
	for (size_t i = 0; i < list->count; i++)
		if (in_groups(groups, list->items[i]))
			return true;
	return false;
}

enum tier authz_resolve_tier(const struct authz_config *a, const json_t *groups)
{
	enum tier best = TIER_NONE;

	if (a->mode != AUTHZ_TIER)
		return TIER_NONE;
	for (size_t i = 0; i < a->group_tiers_count; i++)
		if (a->group_tiers[i].tier > best && in_groups(groups, a->group_tiers[i].group))
			best = a->group_tiers[i].tier;
	return best != TIER_NONE ? best : a->default_tier;
}

bool authz_is_audit_admin(const struct authz_config *a, const json_t *groups, enum tier tier)
{
	if (a->audit_admin_groups.count > 0)
		return any_in_groups(&a->audit_admin_groups, groups);
	switch (a->mode) {
	case AUTHZ_TIER:
		return tier == TIER_ADMIN;
	case AUTHZ_SHARED:
		return a->allowed_groups.count > 0 && any_in_groups(&a->allowed_groups, groups);
	default:
		return false;
	}
}

bool authz_may_sign_in(const struct authz_config *a, const json_t *groups)
{
	return a->allowed_groups.count == 0 || any_in_groups(&a->allowed_groups, groups);
}

bool authz_tier_may_open(const struct authz_config *a, const struct string_list *tiers,
			 enum tier tier)
{
	return a->mode == AUTHZ_TIER && tier != TIER_NONE && string_list_contains(tiers, tier_name(tier));
}

json_t *authz_groups_from_claims(const json_t *claims, const char *claim_name)
{
	json_t *v = json_object_get(claims, claim_name), *out, *g;
	size_t i;

	if (json_is_string(v))
		return json_pack("[O]", v);
	if (!json_is_array(v))
		return NULL;
	out = json_array();
	json_array_foreach(v, i, g) {
		if (json_is_string(g))
			json_array_append(out, g);
	}
	return out;
}
