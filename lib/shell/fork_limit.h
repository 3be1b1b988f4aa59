/* How many periscope-wsbridge processes websocketd may run at once (its --maxforks), from
 * the configured caps. periscope's own refusal over a cap is a JSON 429 (E_CAP_CLUSTER,
 * answered by the authorizer before the upgrade reaches websocketd); websocketd's own
 * refusal at --maxforks is a plain-text 429 no client can act on. So the fork limit must
 * sit above every cap: the sum, over the clusters, of the per-cluster totals of each shell
 * kind that is enabled there, plus headroom for the processes that hold no slot:
 *   - opens that passed the authorizer together for the last slots, which the bridge's
 *     own atomic admission then refuses with its JSON error frame;
 *   - bridges still ending after their slot was released (close row written, the
 *     WebSocket's close handshake and websocketd's --closems still running).
 * Used by `periscope.fcgi --print-maxforks` (dev/up, the test stack, the systemd unit). */
#ifndef PERISCOPE_FORK_LIMIT_H
#define PERISCOPE_FORK_LIMIT_H

#include "config/config.h"

/* The headroom: a quarter of the sessions the caps allow, and at least this many. */
#define FORK_LIMIT_MIN_HEADROOM 16

/* The sessions the caps allow at once, all clusters and both kinds. */
long fork_limit_sessions(const struct config *cfg);
/* fork_limit_sessions() plus the headroom: websocketd's --maxforks. */
long fork_limit(const struct config *cfg);

#endif
