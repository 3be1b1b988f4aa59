/* Tier resolution, audit scope, sign-in gate, shell permission; cookies and query strings. */
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "auth/authz.h"
#include "core/route_match.h"
#include "core/urlcode.h"
#include "core/utf8.h"
#include "unit.h"

static struct group_tier tiers[] = {
	{ "viewers", TIER_READ },
	{ "platform-admins", TIER_ADMIN },
	{ "sre", TIER_WRITE },
};

static struct authz_config tier_mode(void)
{
	struct authz_config a = { 0 };

	a.mode = AUTHZ_TIER;
	a.group_tiers = tiers;
	a.group_tiers_count = 3;
	return a;
}

START_TEST(highest_tier_of_any_group_wins)
{
	struct authz_config a = tier_mode();
	json_t *g = json_pack("[s,s,s]", "sre", "viewers", "unrelated");

	ck_assert_int_eq(authz_resolve_tier(&a, g), TIER_WRITE);
	json_array_append_new(g, json_string("platform-admins"));
	ck_assert_int_eq(authz_resolve_tier(&a, g), TIER_ADMIN);
	json_decref(g);
}
END_TEST

START_TEST(default_tier_applies_only_without_a_listed_group)
{
	struct authz_config a = tier_mode();
	json_t *none = json_array(), *viewer = json_pack("[s]", "viewers");

	ck_assert_int_eq(authz_resolve_tier(&a, none), TIER_NONE);
	a.default_tier = TIER_TRIAGE;
	ck_assert_int_eq(authz_resolve_tier(&a, none), TIER_TRIAGE);
	ck_assert_int_eq(authz_resolve_tier(&a, viewer), TIER_READ);
	a.mode = AUTHZ_SHARED;
	ck_assert_int_eq(authz_resolve_tier(&a, viewer), TIER_NONE);
	json_decref(none);
	json_decref(viewer);
}
END_TEST

START_TEST(audit_admins_by_group_or_by_tier)
{
	struct authz_config a = tier_mode();
	char *admins[] = { "auditors" };
	json_t *auditor = json_pack("[s]", "auditors");

	ck_assert(authz_is_audit_admin(&a, auditor, TIER_ADMIN));
	ck_assert(!authz_is_audit_admin(&a, auditor, TIER_READ));
	a.audit_admin_groups.items = admins;
	a.audit_admin_groups.count = 1;
	ck_assert(authz_is_audit_admin(&a, auditor, TIER_READ));
	json_decref(auditor);
	auditor = json_pack("[s]", "platform-admins");
	ck_assert(!authz_is_audit_admin(&a, auditor, TIER_ADMIN));
	a.audit_admin_groups.count = 0;
	a.mode = AUTHZ_RAW;
	ck_assert(!authz_is_audit_admin(&a, auditor, TIER_ADMIN));
	json_decref(auditor);
}
END_TEST

START_TEST(shells_need_tier_mode_and_a_listed_tier)
{
	struct authz_config a = tier_mode();
	char *admin_only[] = { "admin" };
	struct string_list list = { admin_only, 1 };

	ck_assert(authz_tier_may_open(&a, &list, TIER_ADMIN));
	ck_assert(!authz_tier_may_open(&a, &list, TIER_READ));
	ck_assert(!authz_tier_may_open(&a, &list, TIER_NONE));
	a.mode = AUTHZ_SHARED;
	ck_assert(!authz_tier_may_open(&a, &list, TIER_ADMIN));
}
END_TEST

START_TEST(allowed_groups_gate_sign_in)
{
	struct authz_config a = tier_mode();
	char *allowed[] = { "staff" };
	json_t *staff = json_pack("[s]", "staff"), *other = json_pack("[s]", "guests");

	ck_assert(authz_may_sign_in(&a, other));
	a.allowed_groups.items = allowed;
	a.allowed_groups.count = 1;
	ck_assert(authz_may_sign_in(&a, staff));
	ck_assert(!authz_may_sign_in(&a, other));
	json_decref(staff);
	json_decref(other);
}
END_TEST

START_TEST(cookie_value_finds_the_exact_name)
{
	char *v = cookie_value("a=1; periscope_session_x=no; periscope_session=yes; b=2", "periscope_session");

	ck_assert_str_eq(v, "yes");
	free(v);
	ck_assert_ptr_null(cookie_value("xperiscope_session=no", "periscope_session"));
	ck_assert_ptr_null(cookie_value(NULL, "periscope_session"));
	v = cookie_value("periscope_session=", "periscope_session");
	ck_assert_ptr_null(v);
}
END_TEST

START_TEST(query_strings_decode_and_refuse_tricks)
{
	struct query_params q;
	char err[128];

	ck_assert_int_eq(query_parse("actor=a%40b&verb=login+x&empty=&&flag", &q, err, sizeof err), 0);
	ck_assert_str_eq(query_get(&q, "actor"), "a@b");
	ck_assert_str_eq(query_get(&q, "verb"), "login x");
	ck_assert_str_eq(query_get(&q, "empty"), "");
	ck_assert_str_eq(query_get(&q, "flag"), "");
	query_free(&q);
	ck_assert_int_eq(query_parse("a=%zz", &q, err, sizeof err), -1);
	ck_assert_int_eq(query_parse("a=%4", &q, err, sizeof err), -1);
	ck_assert_int_eq(query_parse("a=%00", &q, err, sizeof err), -1);
	ck_assert_int_eq(query_parse("a=1&a=2", &q, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "more than once"));
	/* Names and values end up in JSON: they must be UTF-8, escaped or raw. */
	ck_assert_int_eq(query_parse("%FF=1", &q, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "UTF-8"));
	ck_assert_int_eq(query_parse("a=%C0%AF", &q, err, sizeof err), -1);   /* overlong "/" */
	ck_assert_int_eq(query_parse("a=%ED%A0%80", &q, err, sizeof err), -1); /* a surrogate */
	ck_assert_int_eq(query_parse("a=\xff", &q, err, sizeof err), -1);
	ck_assert_int_eq(query_parse("caf%C3%A9=%E2%9C%93", &q, err, sizeof err), 0);
	ck_assert_str_eq(query_get(&q, "caf\xc3\xa9"), "\xe2\x9c\x93");
	query_free(&q);
}
END_TEST

START_TEST(path_segments_must_decode_to_utf8)
{
	char *params[ROUTE_MAX_PARAMS] = { 0 };

	ck_assert_int_eq(route_match("/api/clusters/{c}/shell", "/api/clusters/%FF/shell", params), -1);
	ck_assert_ptr_null(params[0]);
	ck_assert_int_eq(route_match("/api/clusters/{c}/shell", "/api/clusters/caf%C3%A9/shell", params), 1);
	ck_assert_str_eq(params[0], "caf\xc3\xa9");
	free(params[0]);
}
END_TEST

START_TEST(utf8_scrub_keeps_valid_text_and_marks_the_rest)
{
	char cut[] = "pages from caf\xc3";   /* a message cut mid-character */
	char mixed[] = "a\xff" "b\xe2\x9c\x93" "c";

	utf8_scrub(cut);
	ck_assert_str_eq(cut, "pages from caf?");
	utf8_scrub(mixed);
	ck_assert_str_eq(mixed, "a?b\xe2\x9c\x93" "c");
	ck_assert(utf8_valid((const unsigned char *)mixed, strlen(mixed)));
	ck_assert(!utf8_valid((const unsigned char *)"\xc0\xaf", 2));
}
END_TEST

static Suite *authz_suite(void)
{
	Suite *s = suite_create("authz");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, highest_tier_of_any_group_wins);
	tcase_add_test(tc, default_tier_applies_only_without_a_listed_group);
	tcase_add_test(tc, audit_admins_by_group_or_by_tier);
	tcase_add_test(tc, shells_need_tier_mode_and_a_listed_tier);
	tcase_add_test(tc, allowed_groups_gate_sign_in);
	tcase_add_test(tc, cookie_value_finds_the_exact_name);
	tcase_add_test(tc, query_strings_decode_and_refuse_tricks);
	tcase_add_test(tc, path_segments_must_decode_to_utf8);
	tcase_add_test(tc, utf8_scrub_keeps_valid_text_and_marks_the_rest);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(authz_suite)
