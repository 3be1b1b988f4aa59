/* What a libcurl connection trusts: exactly one file of CA certificates. */
#ifndef PERISCOPE_TRUST_H
#define PERISCOPE_TRUST_H

#include <curl/curl.h>

/* The configured CA when ca_file is set (and nothing else: a cluster or IdP with a CA of
 * its own is not vouched for by the public CAs), else the system's bundle file. Never the
 * CA directory, which libcurl's default makes it parse whole for every new connection.
 * CURLE_OK or libcurl's error. */
CURLcode trust_configure(CURL *c, const char *ca_file);

#endif
