/* GET /api/clusters's body as each tier sees it: the exact text (what json_dumps with
 * JSON_COMPACT made of the jansson tree the handler built before, byte for byte), shells
 * allowed by tier only, an agent cluster's tunnel in each of its states, strings escaped. */
#include <stdlib.h>
#include <string.h>

#include "auth/cluster_list.h"
#include "config/config.h"
#include "config/config_internal.h"
#include "unit.h"

#define ERRLEN 512

static const char yaml[] =
	"auth:\n"
	"  authorization:\n"
	"    mode: tier\n"
	"    groupTiers:\n"
	"      admins: admin\n"
	"      viewers: read\n"
	"clusterShell:\n"
	"  enabled: true\n"
	"  tiers: [admin]\n"
	"nodeShell:\n"
	"  enabled: true\n"
	"  tiers: [admin, write]\n"
	"  awsRoleArn: \"arn:aws:iam::111122223333:role/node-shell\"\n"
	"  oidcAudience: periscope\n"
	"  region: eu-west-1\n"
	"clusters:\n"
	"  - name: local\n"
	"    backend: kubeconfig\n"
	"    kubeconfigPath: /etc/periscope/local.kubeconfig\n"
	"    region: eu-west-1\n"
	"    environment: \"dev \\\"blue\\\" \\\\ caf\\u00e9\\ttab \\u2028\"\n"
	"  - name: prod-eu\n"
	"    backend: eks\n"
	"    arn: \"arn:aws:eks:eu-west-1:111122223333:cluster/prod-eu\"\n"
	"  - name: edge\n"
	"    backend: agent\n"
	"    clusterShell:\n"
	"      enabled: false\n";

static struct config *load(void)
{
	char err[ERRLEN];
	struct config *cfg;

	setenv("PERISCOPE_OIDC_ISSUER", "https://idp.example.com/", 1);
	setenv("PERISCOPE_OIDC_CLIENT_ID", "periscope", 1);
	setenv("PERISCOPE_OIDC_REDIRECT_URL", "http://127.0.0.1:8080/api/auth/callback", 1);
	cfg = config_load_from_memory(yaml, strlen(yaml), "inline.yaml", err, ERRLEN);
	ck_assert_msg(cfg != NULL, "%s", err);
	return cfg;
}

/* The registry's answer for every agent cluster, and the names it was asked about. */
struct registry {
	struct cluster_tunnel answer;
	char asked[256];
};

static void fake_registry(void *ctx, const char *cluster, struct cluster_tunnel *out)
{
	struct registry *r = ctx;

	strncat(r->asked, cluster, sizeof r->asked - strlen(r->asked) - 2);
	strcat(r->asked, ";");
	*out = r->answer;
}

static void assert_body(struct config *cfg, enum tier tier, struct registry *r, const char *want)
{
	struct buf out;

	buf_init(&out, 1 << 16);
	ck_assert_int_eq(cluster_list_json(&out, cfg, tier, fake_registry, r), 0);
	ck_assert_str_eq(out.data, want);
	ck_assert_uint_eq(out.len, strlen(want));
	buf_free(&out);
}

#define LOCAL_HEAD "{\"clusters\":[{\"name\":\"local\",\"backend\":\"kubeconfig\",\"clusterShellEnabled\":true,\"nodeShellEnabled\":true,"
#define LOCAL_TAIL ",\"region\":\"eu-west-1\",\"environment\":\"dev \\\"blue\\\" \\\\ caf\xc3\xa9\\ttab \xe2\x80\xa8\",\"clusterShellMode\":\"bash\"}"
#define EKS_HEAD ",{\"name\":\"prod-eu\",\"backend\":\"eks\",\"clusterShellEnabled\":false,\"nodeShellEnabled\":true,\"clusterShellAllowed\":false,"
#define EDGE_HEAD ",{\"name\":\"edge\",\"backend\":\"agent\",\"clusterShellEnabled\":false,\"nodeShellEnabled\":true,\"clusterShellAllowed\":false,"

START_TEST(each_tier_sees_the_shells_it_may_open)
{
	struct config *cfg = load();
	struct registry r = { .answer = { .registered = 0 } };

	assert_body(cfg, TIER_ADMIN, &r,
		    LOCAL_HEAD "\"clusterShellAllowed\":true,\"nodeShellAllowed\":true" LOCAL_TAIL
		    EKS_HEAD "\"nodeShellAllowed\":true}"
		    EDGE_HEAD "\"nodeShellAllowed\":true,\"tunnel\":{\"status\":\"unregistered\",\"connected\":false}}]}");
	assert_body(cfg, TIER_WRITE, &r,
		    LOCAL_HEAD "\"clusterShellAllowed\":false,\"nodeShellAllowed\":true" LOCAL_TAIL
		    EKS_HEAD "\"nodeShellAllowed\":true}"
		    EDGE_HEAD "\"nodeShellAllowed\":true,\"tunnel\":{\"status\":\"unregistered\",\"connected\":false}}]}");
	assert_body(cfg, TIER_READ, &r,
		    LOCAL_HEAD "\"clusterShellAllowed\":false,\"nodeShellAllowed\":false" LOCAL_TAIL
		    EKS_HEAD "\"nodeShellAllowed\":false}"
		    EDGE_HEAD "\"nodeShellAllowed\":false,\"tunnel\":{\"status\":\"unregistered\",\"connected\":false}}]}");
	assert_body(cfg, TIER_NONE, &r,
		    LOCAL_HEAD "\"clusterShellAllowed\":false,\"nodeShellAllowed\":false" LOCAL_TAIL
		    EKS_HEAD "\"nodeShellAllowed\":false}"
		    EDGE_HEAD "\"nodeShellAllowed\":false,\"tunnel\":{\"status\":\"unregistered\",\"connected\":false}}]}");
	/* The registry is asked about the agent cluster only, once per body. */
	ck_assert_str_eq(r.asked, "edge;edge;edge;edge;");
	config_free(cfg);
}
END_TEST

#define READ_PREFIX LOCAL_HEAD "\"clusterShellAllowed\":false,\"nodeShellAllowed\":false" LOCAL_TAIL \
	EKS_HEAD "\"nodeShellAllowed\":false}" EDGE_HEAD "\"nodeShellAllowed\":false,\"tunnel\":"

START_TEST(an_agent_tunnel_in_each_state)
{
	struct config *cfg = load();
	struct registry r = { .answer = { .registered = -1 } };

	assert_body(cfg, TIER_READ, &r, READ_PREFIX "{\"status\":\"unknown\"}}]}");
	r.answer = (struct cluster_tunnel){ .registered = 1, .registered_at = 1764000000 };
	assert_body(cfg, TIER_READ, &r,
		    READ_PREFIX "{\"status\":\"disconnected\",\"connected\":false,\"registeredAt\":1764000000}}]}");
	r.answer.last_seen = 1764000300;
	assert_body(cfg, TIER_READ, &r,
		    READ_PREFIX "{\"status\":\"disconnected\",\"connected\":false,\"registeredAt\":1764000000,\"lastSeen\":1764000300}}]}");
	r.answer.connected_since = 4102444800LL; /* past 2^31: written in full */
	assert_body(cfg, TIER_READ, &r,
		    READ_PREFIX "{\"status\":\"connected\",\"connected\":true,\"registeredAt\":1764000000,\"connectedSince\":4102444800,\"lastSeen\":1764000300}}]}");
	config_free(cfg);
}
END_TEST

START_TEST(no_clusters_and_a_full_buffer)
{
	struct config *cfg = load();
	struct registry r = { .answer = { .registered = 0 } };
	size_t n = cfg->clusters_count;
	struct buf small;

	cfg->clusters_count = 0;
	assert_body(cfg, TIER_ADMIN, &r, "{\"clusters\":[]}");
	cfg->clusters_count = n;
	/* A body past the buffer's maximum is an error, never a cut-off answer. */
	buf_init(&small, 64);
	ck_assert_int_eq(cluster_list_json(&small, cfg, TIER_ADMIN, fake_registry, &r), -1);
	buf_free(&small);
	config_free(cfg);
}
END_TEST

static Suite *cluster_list_suite(void)
{
	Suite *s = suite_create("cluster_list");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, each_tier_sees_the_shells_it_may_open);
	tcase_add_test(tc, an_agent_tunnel_in_each_state);
	tcase_add_test(tc, no_clusters_and_a_full_buffer);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(cluster_list_suite)
