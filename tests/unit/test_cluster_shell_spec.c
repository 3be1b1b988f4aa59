/* The objects of one cluster-shell session as periscope sends them to the apiserver: what
 * the session's ClusterRole allows (exactly one user, group and pair of extra values), the
 * binding, the pod-bound TokenRequest, the pod's identity and volume, and the REST paths. */
#include <jansson.h>

#include "k8s/cluster_shell_spec.h"
#include "unit.h"

#define SID "5f0c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f"
#define NAME "periscope-shell-" SID
/* The first 12 hex digits of SHA-256("user-viewer"). */
#define ACTOR_HASH "b627c7172bac"
#define METADATA                                                                                  \
	"{\"name\": \"" NAME "\", \"labels\": {\"app.kubernetes.io/name\": \"periscope-shell\","      \
	" \"app.kubernetes.io/managed-by\": \"periscope\", \"periscope.io/session-id\": \"" SID "\"," \
	" \"periscope.io/namespace\": \"periscope-system\", \"periscope.io/tier\": \"read\","         \
	" \"periscope.io/actor-hash\": \"" ACTOR_HASH "\"}}"

/* got (borrowed) equals the JSON text. */
static void assert_json(json_t *got, const char *want_text)
{
	json_error_t e;
	json_t *want = json_loads(want_text, 0, &e);
	char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);

	ck_assert_msg(want != NULL, "expected JSON: %s", e.text);
	ck_assert_msg(json_equal(got, want), "got %s", g ? g : "(null)");
	free(g);
	json_decref(want);
}

static struct shell_objects objects(void)
{
	struct shell_objects o;

	ck_assert_int_eq(shell_objects_init(&o, SID, "read", "user-viewer", "periscope-system"), 0);
	return o;
}

static struct config config(void)
{
	struct config c;

	memset(&c, 0, sizeof c);
	c.cluster_shell.image = "registry.example/periscope-shell:1";
	c.cluster_shell.image_pull_policy = "IfNotPresent";
	c.cluster_shell.pod_start_timeout_seconds = 30;
	c.session.absolute_timeout_s = 28800;
	return c;
}

START_TEST(service_account_is_named_and_labelled_after_the_session)
{
	struct shell_objects o = objects();
	json_t *sa = unit_nonnull(shell_service_account(&o));

	ck_assert_str_eq(o.tier_group, "periscope-tier:read");
	assert_json(sa, "{\"apiVersion\": \"v1\", \"kind\": \"ServiceAccount\", \"metadata\": " METADATA
		    ", \"automountServiceAccountToken\": false}");
	json_decref(sa);
}
END_TEST

START_TEST(cluster_role_allows_only_this_operator_tier_and_session)
{
	struct shell_objects o = objects();
	json_t *role = unit_nonnull(shell_cluster_role(&o));

	assert_json(role,
		    "{\"apiVersion\": \"rbac.authorization.k8s.io/v1\", \"kind\": \"ClusterRole\", \"metadata\": " METADATA ","
		    " \"rules\": ["
		    "  {\"apiGroups\": [\"\"], \"resources\": [\"users\"], \"verbs\": [\"impersonate\"], \"resourceNames\": [\"user-viewer\"]},"
		    "  {\"apiGroups\": [\"\"], \"resources\": [\"groups\"], \"verbs\": [\"impersonate\"], \"resourceNames\": [\"periscope-tier:read\"]},"
		    "  {\"apiGroups\": [\"authentication.k8s.io\"], \"resources\": [\"userextras/audit.periscope.io/session-id\"],"
		    "   \"verbs\": [\"impersonate\"], \"resourceNames\": [\"" SID "\"]},"
		    "  {\"apiGroups\": [\"authentication.k8s.io\"], \"resources\": [\"userextras/audit.periscope.io/actor\"],"
		    "   \"verbs\": [\"impersonate\"], \"resourceNames\": [\"user-viewer\"]}]}");
	json_decref(role);
}
END_TEST

START_TEST(binding_gives_that_role_to_the_session_account)
{
	struct shell_objects o = objects();
	json_t *b = unit_nonnull(shell_cluster_role_binding(&o));

	assert_json(b, "{\"apiVersion\": \"rbac.authorization.k8s.io/v1\", \"kind\": \"ClusterRoleBinding\","
		       " \"metadata\": " METADATA ","
		       " \"roleRef\": {\"apiGroup\": \"rbac.authorization.k8s.io\", \"kind\": \"ClusterRole\", \"name\": \"" NAME "\"},"
		       " \"subjects\": [{\"kind\": \"ServiceAccount\", \"name\": \"" NAME "\", \"namespace\": \"periscope-system\"}]}");
	json_decref(b);
}
END_TEST

START_TEST(token_request_is_bound_to_the_pod)
{
	json_t *tr = unit_nonnull(shell_token_request(28800, NAME, "0e9e7f4a-1111-4222-8333-944445555666"));

	assert_json(tr, "{\"apiVersion\": \"authentication.k8s.io/v1\", \"kind\": \"TokenRequest\", \"spec\": {"
			" \"expirationSeconds\": 28800, \"boundObjectRef\": {\"apiVersion\": \"v1\", \"kind\": \"Pod\","
			" \"name\": \"" NAME "\", \"uid\": \"0e9e7f4a-1111-4222-8333-944445555666\"}}}");
	json_decref(tr);
}
END_TEST

START_TEST(token_lives_for_the_session_and_at_least_ten_minutes)
{
	struct config c = config();

	ck_assert_int_eq(shell_token_ttl(&c), 28800);
	c.cluster_shell.timers.max_duration_seconds = 3600;
	ck_assert_int_eq(shell_token_ttl(&c), 3600 + 30 + 300);
	c.cluster_shell.timers.max_duration_seconds = 10;
	ck_assert_int_eq(shell_token_ttl(&c), 600);
}
END_TEST

START_TEST(pod_runs_as_the_session_account_with_the_kubeconfig_beside_the_cluster_ca)
{
	struct shell_objects o = objects();
	struct config c = config();
	json_t *pod = unit_nonnull(shell_pod(&c, &o, "bash"));
	json_t *spec = json_object_get(pod, "spec");

	ck_assert_str_eq(json_string_value(json_object_get(spec, "serviceAccountName")), NAME);
	ck_assert(json_is_false(json_object_get(spec, "automountServiceAccountToken")));
	assert_json(json_object_get(spec, "volumes"),
		    "[{\"name\": \"kubeconfig\", \"projected\": {\"defaultMode\": 288, \"sources\": ["
		    "  {\"secret\": {\"name\": \"" NAME "\", \"items\": [{\"key\": \"kubeconfig\", \"path\": \"kubeconfig\"}]}},"
		    "  {\"configMap\": {\"name\": \"kube-root-ca.crt\", \"items\": [{\"key\": \"ca.crt\", \"path\": \"ca.crt\"}]}}]}}]");
	json_decref(pod);
}
END_TEST

START_TEST(collection_paths_of_each_kind)
{
	static const char *const want[SHELL_OBJ_KINDS] = {
		[SHELL_OBJ_POD] = "/api/v1/namespaces/ns1/pods",
		[SHELL_OBJ_SECRET] = "/api/v1/namespaces/ns1/secrets",
		[SHELL_OBJ_CLUSTER_ROLE_BINDING] = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
		[SHELL_OBJ_CLUSTER_ROLE] = "/apis/rbac.authorization.k8s.io/v1/clusterroles",
		[SHELL_OBJ_SERVICE_ACCOUNT] = "/api/v1/namespaces/ns1/serviceaccounts",
	};
	char path[128], tiny[16];

	for (int k = 0; k < SHELL_OBJ_KINDS; k++) {
		ck_assert_int_eq(shell_collection_path((enum shell_object_kind)k, "ns1", path, sizeof path), 0);
		ck_assert_str_eq(path, want[k]);
	}
	ck_assert_int_eq(shell_collection_path(SHELL_OBJ_POD, "ns1", tiny, sizeof tiny), -1);
}
END_TEST

static Suite *spec_suite(void)
{
	Suite *s = suite_create("cluster_shell_spec");
	TCase *tc = tcase_create("objects");

	tcase_add_test(tc, service_account_is_named_and_labelled_after_the_session);
	tcase_add_test(tc, cluster_role_allows_only_this_operator_tier_and_session);
	tcase_add_test(tc, binding_gives_that_role_to_the_session_account);
	tcase_add_test(tc, token_request_is_bound_to_the_pod);
	tcase_add_test(tc, token_lives_for_the_session_and_at_least_ten_minutes);
	tcase_add_test(tc, pod_runs_as_the_session_account_with_the_kubeconfig_beside_the_cluster_ca);
	tcase_add_test(tc, collection_paths_of_each_kind);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(spec_suite)
