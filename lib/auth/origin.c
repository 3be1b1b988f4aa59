#include "auth/origin.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* scheme://host[:port] of a URL, lower-cased, into out. */
static void url_origin(const char *url, char *out, size_t outlen)
{
	const char *p = strstr(url, "://");
	size_t n;

	if (!p) {
		snprintf(out, outlen, "%s", url);
		return;
	}
	n = strcspn(p + 3, "/?#");
	snprintf(out, outlen, "%.*s", (int)((size_t)(p + 3 - url) + n), url);
	for (char *c = out; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
}

bool origin_is_allowed(const struct config *cfg, const char *origin)
{
	char want[512], got[512];

	if (!origin || !*origin)
		return false;
	url_origin(origin, got, sizeof got);
	url_origin(cfg->server.public_url, want, sizeof want);
	if (strcmp(got, want) == 0)
		return true;
	for (size_t i = 0; i < cfg->server.allowed_origins.count; i++) {
		url_origin(cfg->server.allowed_origins.items[i], want, sizeof want);
		if (strcmp(got, want) == 0)
			return true;
	}
	return false;
}

bool request_from_our_pages(const struct config *cfg, const char *origin,
			    const char *sec_fetch_site)
{
	/* "Origin: null" (a sandboxed frame, a redirect across sites) is present and refused. */
	if (origin && *origin)
		return origin_is_allowed(cfg, origin);
	if (sec_fetch_site && *sec_fetch_site)
		return strcasecmp(sec_fetch_site, "same-origin") == 0 ||
		       strcasecmp(sec_fetch_site, "none") == 0;
	return true;
}
