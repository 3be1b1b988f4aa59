#include "auth/cluster_list.h"
#include "store/dbx.h"
#include "store/agent_registry.h"
#include "handlers.h"

/* An agent cluster's tunnel from the registry (store/agent_registry.h). */
static void tunnel_from_registry(void *ctx, const char *cluster, struct cluster_tunnel *out)
{
	struct agent_record rec;
	int found = agent_lookup_dbx(ctx, cluster, &rec);

	out->registered = found < 0 ? -1 : found > 0;
	if (found > 0) {
		out->registered_at = rec.registered_at;
		out->connected_since = rec.connected_since;
		out->last_seen = rec.last_seen;
	}
}

/* The body is written straight into a buffer (auth/cluster_list.h says why), per request:
 * each user's tier and each tunnel's state are read anew, nothing is kept between users. */
void handle_clusters_list(struct request *rq)
{
	struct buf body;

	buf_init(&body, 1 << 20);
	/* Room for a few clusters at once (grown from nothing, it was reallocated at each
	 * doubling); more clusters grow it as needed. */
	if (buf_room(&body, 2048) && cluster_list_json(&body, rq->w->cfg, rq->identity.tier, tunnel_from_registry,
			      rq->w->dbx) == 0)
		respond_raw(rq, 200, "application/json", body.data, body.len);
	else
		respond_json(rq, 500, NULL);
	buf_free(&body);
}
