#include "net/client_addr.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool is_loopback(const char *addr)
{
	return addr && (strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0 ||
			strncmp(addr, "::ffff:127.", 11) == 0);
}

/* An IPv4 or IPv6 address as text: digits, hex letters, dots and colons, at most 45. */
static bool plain_address(const char *s, size_t len)
{
	if (len == 0 || len > 45)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!strchr("0123456789abcdefABCDEF.:", s[i]))
			return false;
	return true;
}

void client_address(const char *remote_addr, const char *forwarded_for, char *out,
		    size_t outlen)
{
	const char *last, *end;

	snprintf(out, outlen, "%s", remote_addr ? remote_addr : "");
	if (!plain_address(out, strlen(out)))
		snprintf(out, outlen, "%s", "");
	if (!is_loopback(remote_addr) || !forwarded_for || !*forwarded_for)
		return;
	last = strrchr(forwarded_for, ',');
	last = last ? last + 1 : forwarded_for;
	while (*last == ' ' || *last == '\t')
		last++;
	end = last + strlen(last);
	while (end > last && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (plain_address(last, (size_t)(end - last)))
		snprintf(out, outlen, "%.*s", (int)(end - last), last);
}
