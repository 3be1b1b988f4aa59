#include "auth/cluster_list.h"

#include <string.h>

#include "auth/authz.h"
#include "core/json_escape.h"

/* Cluster shell is on for a cluster when the server enables it, the cluster does not opt
 * out, and periscope can reach the cluster as itself (not EKS: see shell_gates.c). */
static bool cluster_shell_enabled(const struct config *cfg, const struct cluster_config *c)
{
	return cfg->cluster_shell.enabled && c->cluster_shell.enabled != 0 &&
	       c->backend != BACKEND_EKS;
}

/* ,"key": (keys are plain ASCII literals here). Appended piece by piece: printf-style
 * formatting was most of this module's instructions. */
static int put_key(struct buf *out, const char *key)
{
	size_t n = strlen(key);
	char *p = buf_room(out, n + 4);

	if (!p)
		return -1;
	p[0] = ',';
	p[1] = '"';
	memcpy(p + 2, key, n);
	p[n + 2] = '"';
	p[n + 3] = ':';
	buf_commit(out, n + 4);
	return 0;
}

/* ,"key":"value", the value escaped as jansson escapes it. */
static int put_string(struct buf *out, const char *key, const char *value)
{
	if (put_key(out, key) != 0)
		return -1;
	return json_escape_sanitized(out, (const unsigned char *)value, strlen(value));
}

static int put_bool(struct buf *out, const char *key, bool value)
{
	if (put_key(out, key) != 0)
		return -1;
	return value ? buf_append(out, "true", 4) : buf_append(out, "false", 5);
}

/* jansson writes integers with JSON_INTEGER_FORMAT ("lld"). */
static int put_int(struct buf *out, const char *key, long long value)
{
	if (put_key(out, key) != 0)
		return -1;
	return buf_printf(out, "%lld", value);
}

/* The tunnel object of an agent cluster: registered or not, connected since when, last
 * seen (the tunnel process notes it every 15 s while the agent is up). */
static int put_tunnel(struct buf *out, const struct cluster_tunnel *t)
{
	int rc = 0;

	if (t->registered < 0)
		return buf_append_str(out, ",\"tunnel\":{\"status\":\"unknown\"}");
	if (t->registered == 0)
		return buf_append_str(out,
				      ",\"tunnel\":{\"status\":\"unregistered\",\"connected\":false}");
	rc |= buf_append_str(out, t->connected_since ? ",\"tunnel\":{\"status\":\"connected\""
						    : ",\"tunnel\":{\"status\":\"disconnected\"");
	rc |= put_bool(out, "connected", t->connected_since != 0);
	rc |= put_int(out, "registeredAt", t->registered_at);
	if (t->connected_since)
		rc |= put_int(out, "connectedSince", t->connected_since);
	if (t->last_seen)
		rc |= put_int(out, "lastSeen", t->last_seen);
	rc |= buf_append_str(out, "}");
	return rc ? -1 : 0;
}

static int put_cluster(struct buf *out, const struct config *cfg, const struct cluster_config *c,
		       enum tier tier, cluster_tunnel_fn *tunnel, void *ctx)
{
	bool cs = cluster_shell_enabled(cfg, c), ns = cfg->node_shell.enabled;
	int rc = 0;

	if (!c->name)
		return -1;
	rc |= buf_append_str(out, "{\"name\":");
	rc |= json_escape_sanitized(out, (const unsigned char *)c->name, strlen(c->name));
	rc |= put_string(out, "backend", cluster_backend_name(c->backend));
	rc |= put_bool(out, "clusterShellEnabled", cs);
	rc |= put_bool(out, "nodeShellEnabled", ns);
	rc |= put_bool(out, "clusterShellAllowed",
		       cs && authz_tier_may_open(&cfg->authz, &cfg->cluster_shell.tiers, tier));
	rc |= put_bool(out, "nodeShellAllowed",
		       ns && authz_tier_may_open(&cfg->authz, &cfg->node_shell.tiers, tier));
	if (c->region && *c->region)
		rc |= put_string(out, "region", c->region);
	if (c->environment && *c->environment)
		rc |= put_string(out, "environment", c->environment);
	if (cs && cfg->cluster_shell.mode)
		rc |= put_string(out, "clusterShellMode", cfg->cluster_shell.mode);
	if (c->backend == BACKEND_AGENT) {
		struct cluster_tunnel t = { .registered = -1 };

		tunnel(ctx, c->name, &t);
		rc |= put_tunnel(out, &t);
	}
	rc |= buf_append_str(out, "}");
	return rc ? -1 : 0;
}

int cluster_list_json(struct buf *out, const struct config *cfg, enum tier tier,
		      cluster_tunnel_fn *tunnel, void *ctx)
{
	if (buf_append_str(out, "{\"clusters\":[") != 0)
		return -1;
	for (size_t i = 0; i < cfg->clusters_count; i++) {
		if (i && buf_append_str(out, ",") != 0)
			return -1;
		if (put_cluster(out, cfg, &cfg->clusters[i], tier, tunnel, ctx) != 0)
			return -1;
	}
	return buf_append_str(out, "]}");
}
