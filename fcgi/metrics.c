/* GET /metrics: the Prometheus exposition (lib/metrics/metrics_render.h). Who may scrape is
 * the config's (metrics.allowedNetworks, metrics.bearerToken; docs/monitoring.md): the
 * shipped sites also keep /metrics off the public path, this is the second fence. */
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <string.h>
#include <strings.h>

#include "handlers.h"
#include "core/log.h"
#include "metrics/metrics_render.h"
#include "metrics/prom_text.h"
#include "net/cidr.h"

#define METRICS_MAX_BYTES (8u << 20)

/* Compares SHA-256 digests in constant time, so neither the token's bytes nor its length
 * can be learned from how long a refusal takes. */
static bool token_matches(const char *given, const char *expected)
{
	unsigned char a[32], b[32];

	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, given, strlen(given), a) != 0 ||
	    gnutls_hash_fast(GNUTLS_DIG_SHA256, expected, strlen(expected), b) != 0)
		return false;
	return gnutls_memcmp(a, b, sizeof a) == 0;
}

/* 0 when this client may scrape; else answered with 401 or 403. */
static int check_access(struct request *rq)
{
	const struct metrics_config *m = &rq->w->cfg->metrics;
	const char *addr = request_env(rq, "REMOTE_ADDR");
	const char *auth = request_env(rq, "HTTP_AUTHORIZATION");

	if (m->allowed_networks.count > 0 && !cidr_list_contains(&m->allowed_networks, addr)) {
		respond_error(rq, 403, "E_FORBIDDEN",
			      "this address may not read the metrics (metrics.allowedNetworks)", NULL);
		return -1;
	}
	if (*m->bearer_token) {
		if (!auth || strncasecmp(auth, "Bearer ", 7) != 0 ||
		    !token_matches(auth + 7, m->bearer_token)) {
			add_header(rq, "WWW-Authenticate: Bearer realm=\"periscope metrics\"");
			respond_error(rq, 401, "E_AUTH",
				      "the metrics need the bearer token (metrics.bearerToken)", NULL);
			return -1;
		}
	}
	return 0;
}

void handle_metrics(struct request *rq)
{
	struct metrics_extra extra;
	struct buf out;

	if (check_access(rq) != 0)
		return;
	/* After the access check: a refused caller costs no readiness write. */
	extra.ready = health_ready(rq->w, NULL) ? 1 : 0;
	buf_init(&out, METRICS_MAX_BYTES);
	if (metrics_render_dbx(rq->w->dbx, rq->w->cfg, &extra, &out) != 0) {
		log_msg(LOG_ERROR, "metrics", "cannot read the metrics: %s", dbx_errmsg(rq->w->dbx));
		respond_error(rq, 503, "E_UNAVAILABLE", "the metrics cannot be read now", NULL);
		goto done;
	}
	respond_raw(rq, 200, PROM_CONTENT_TYPE, out.data ? out.data : "", out.len);
done:
	buf_free(&out);
}
