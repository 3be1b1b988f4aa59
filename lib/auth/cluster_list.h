/* The body of GET /api/clusters: the configured clusters as one user sees them (which
 * shells the user's tier may open; an agent cluster's tunnel), written straight into a
 * buffer. It is asked for on every page load and poll, and building it as a jansson tree
 * to serialize it was most of periscope.fcgi's instructions for the request (docs/HACKING.md
 * "Where an API request goes"). The text is exactly what json_dumps(JSON_COMPACT) made of
 * that tree, byte for byte (tests/unit/test_cluster_list.c). */
#ifndef PERISCOPE_CLUSTER_LIST_H
#define PERISCOPE_CLUSTER_LIST_H

#include "auth/tiers.h"
#include "config/config.h"
#include "core/buf.h"

/* An agent cluster's tunnel, as the agent registry knows it now. */
struct cluster_tunnel {
	int registered;              /* 1 registered, 0 not, -1 the registry could not say */
	long long registered_at, connected_since, last_seen; /* Unix seconds; 0 = never */
};

/* Fills out for the agent cluster named cluster (called once per agent cluster only). */
typedef void cluster_tunnel_fn(void *ctx, const char *cluster, struct cluster_tunnel *out);

/* Appends {"clusters":[...]} for a user of this tier to out. 0, or -1 (out of memory, past
 * the buffer's maximum, or a cluster without a name). */
int cluster_list_json(struct buf *out, const struct config *cfg, enum tier tier,
		      cluster_tunnel_fn *tunnel, void *ctx);

#endif
