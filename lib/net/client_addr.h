/* The client's address, for the audit: the REMOTE_ADDR the web server gives, except behind
 * periscope's own web server proxying to websocketd (REMOTE_ADDR on loopback), where it is
 * the last X-Forwarded-For entry, the one that proxy appended (lighttpd's mod_proxy and
 * Apache's mod_proxy_http both append the peer they saw; earlier entries are whatever the
 * client sent). Only address characters are kept; anything else falls back to REMOTE_ADDR. */
#ifndef PERISCOPE_CLIENT_ADDR_H
#define PERISCOPE_CLIENT_ADDR_H

#include <stddef.h>

#define CLIENT_ADDR_MAX 64

void client_address(const char *remote_addr, const char *forwarded_for, char *out,
		    size_t outlen);

#endif
