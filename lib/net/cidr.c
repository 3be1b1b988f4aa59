#include "net/cidr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_addr(const char *s, size_t len, struct cidr *out)
{
	char text[INET6_ADDRSTRLEN];

	if (len == 0 || len >= sizeof text)
		return -1;
	memcpy(text, s, len);
	text[len] = '\0';
	memset(out->addr, 0, sizeof out->addr);
	if (inet_pton(AF_INET, text, out->addr) == 1) {
		out->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, out->addr) == 1) {
		out->family = AF_INET6;
		return 0;
	}
	return -1;
}

/* ::ffff:a.b.c.d becomes a.b.c.d. */
static void unmap_v4(struct cidr *a)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (a->family == AF_INET6 && memcmp(a->addr, mapped, sizeof mapped) == 0) {
		memmove(a->addr, a->addr + 12, 4);
		memset(a->addr + 4, 0, 12);
		a->family = AF_INET;
	}
}

int cidr_parse(const char *s, struct cidr *out)
{
	const char *slash = strchr(s, '/');
	size_t len = slash ? (size_t)(slash - s) : strlen(s);
	int max;

	if (parse_addr(s, len, out) != 0)
		return -1;
	max = out->family == AF_INET ? 32 : 128;
	out->prefix = max;
	if (slash) {
		char *end;
		long p;
		if (slash[1] < '0' || slash[1] > '9')
			return -1;
		p = strtol(slash + 1, &end, 10);
		if (*end || p < 0 || p > max)
			return -1;
		out->prefix = (int)p;
	}
	/* ::ffff:10.0.0.0/104 is 10.0.0.0/8: addresses are compared unmapped. */
	if (out->family == AF_INET6 && out->prefix >= 96) {
		struct cidr v4 = *out;
		unmap_v4(&v4);
		if (v4.family == AF_INET) {
			v4.prefix = out->prefix - 96;
			*out = v4;
		}
	}
	return 0;
}

bool cidr_contains(const struct cidr *net, const char *addr)
{
	struct cidr a;
	int full, rest;

	if (!addr || parse_addr(addr, strlen(addr), &a) != 0)
		return false;
	unmap_v4(&a);
	if (a.family != net->family)
		return false;
	full = net->prefix / 8;
	rest = net->prefix % 8;
	if (memcmp(a.addr, net->addr, (size_t)full) != 0)
		return false;
	if (rest) {
		unsigned char mask = (unsigned char)(0xff << (8 - rest));
		if ((a.addr[full] & mask) != (net->addr[full] & mask))
			return false;
	}
	return true;
}

bool cidr_list_contains(const struct string_list *nets, const char *addr)
{
	struct cidr net;

	for (size_t i = 0; i < nets->count; i++)
		if (cidr_parse(nets->items[i], &net) == 0 && cidr_contains(&net, addr))
			return true;
	return false;
}
