/* Networks as an operator writes them (10.0.0.0/8, fd00::/8, or one address), and whether
 * an address (the web server's REMOTE_ADDR) is inside one. IPv4-mapped IPv6 addresses
 * (::ffff:10.1.2.3, what a dual-stack socket reports) match the IPv4 networks. */
#ifndef PERISCOPE_CIDR_H
#define PERISCOPE_CIDR_H

#include <stdbool.h>

#include "config/config.h"

struct cidr {
	int family;                 /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	int prefix;                 /* bits */
};

/* 0, or -1 when s is not an address with an optional /prefix in range. */
int cidr_parse(const char *s, struct cidr *out);
/* Whether addr (an address, no prefix) is inside net. */
bool cidr_contains(const struct cidr *net, const char *addr);
/* Whether addr is inside any network of the list (items already validated). */
bool cidr_list_contains(const struct string_list *nets, const char *addr);

#endif
