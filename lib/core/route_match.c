#include "core/route_match.h"

#include <stdlib.h>
#include <string.h>

#include "core/urlcode.h"

int route_match(const char *pattern, const char *path, char *params[ROUTE_MAX_PARAMS])
{
	const char *p = pattern, *s = path;
	int n = 0;

	while (*p && *s) {
		if (*p == '{') {
			const char *close = strchr(p, '}'), *seg_end = strchr(s, '/');
			size_t seg_len = seg_end ? (size_t)(seg_end - s) : strlen(s);
			char *value;

			if (!close || n == ROUTE_MAX_PARAMS || seg_len == 0)
				goto no_match;
			value = url_decode(s, seg_len, false);
			if (!value || strchr(value, '/')) {
				free(value);
				for (int i = 0; i < n; i++) {
					free(params[i]);
					params[i] = NULL;
				}
				return -1;
			}
			params[n++] = value;
			p = close + 1;
			s += seg_len;
			continue;
		}
		if (*p != *s)
			goto no_match;
		p++;
		s++;
	}
	if (*p == '\0' && *s == '\0')
		return 1;
no_match:
	for (int i = 0; i < n; i++) {
		free(params[i]);
		params[i] = NULL;
	}
	return 0;
}
