/* Where a browser request comes from. A terminal (WebSocket) and a state-changing request
 * (sign-out) must come from one of this server's pages: the Origin header names the page,
 * Sec-Fetch-Site says how it relates to us. Both are set by the browser and cannot be
 * forged by a page; a client that sends neither is not a browser, and so cannot carry a
 * victim's cookie. */
#ifndef PERISCOPE_ORIGIN_H
#define PERISCOPE_ORIGIN_H

#include <stdbool.h>

#include "config/config.h"

/* origin (an Origin header value) is server.publicURL's origin or one of
 * server.allowedOrigins (scheme, host and port compared, case-insensitively). */
bool origin_is_allowed(const struct config *cfg, const char *origin);

/* For a state-changing request: an Origin, when sent, must be allowed; without one, a
 * Sec-Fetch-Site, when sent, must be same-origin or none (typed by the user). */
bool request_from_our_pages(const struct config *cfg, const char *origin,
			    const char *sec_fetch_site);

#endif
