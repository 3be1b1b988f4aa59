/* Percent-decoding of paths and query strings as they arrive (REQUEST_URI and
 * QUERY_STRING are raw under lighttpd, Apache and websocketd alike). */
#ifndef PERISCOPE_URLCODE_H
#define PERISCOPE_URLCODE_H

#include <stdbool.h>
#include <stddef.h>

#define QUERY_MAX_PARAMS 32

/* Decodes %XX (and '+' as space when plus_is_space). Refuses a malformed escape, a
 * decoded NUL and a result that is not UTF-8. Returns a malloc'd string or NULL. */
char *url_decode(const char *s, size_t len, bool plus_is_space);

struct query_params {
	size_t count;
	char *keys[QUERY_MAX_PARAMS];
	char *values[QUERY_MAX_PARAMS];
};

/* Splits and decodes a query string. -1 on a malformed escape, a name or value that is not
 * UTF-8, a repeated key, or more
 * than QUERY_MAX_PARAMS parameters (err says which). */
int query_parse(const char *qs, struct query_params *out, char *err, size_t errlen);
void query_free(struct query_params *q);
const char *query_get(const struct query_params *q, const char *key);

#endif
