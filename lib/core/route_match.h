/* Matches a request path against a route pattern such as "/api/clusters/{c}/shell",
 * percent-decoding each {placeholder} segment. Shared by periscope.fcgi's router and
 * periscope-wsbridge, which reads the same paths from websocketd. */
#ifndef PERISCOPE_ROUTE_MATCH_H
#define PERISCOPE_ROUTE_MATCH_H

#define ROUTE_MAX_PARAMS 4

/* 1 match (params hold malloc'd decoded values), 0 no match, -1 malformed path (a bad
 * escape, or a decoded '/' or NUL in a segment). */
int route_match(const char *pattern, const char *path, char *params[ROUTE_MAX_PARAMS]);

#endif
