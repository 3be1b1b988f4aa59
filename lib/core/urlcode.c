#include "core/urlcode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *url_decode(const char *s, size_t len, bool plus_is_space)
{
	char *out = malloc(len + 1);
	size_t o = 0;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '%') {
			int hi, lo;
			if (i + 2 >= len)
				goto fail;
			hi = hex_value(s[i + 1]);
			lo = hex_value(s[i + 2]);
			if (hi < 0 || lo < 0)
				goto fail;
			c = (char)(hi * 16 + lo);
			if (c == '\0')
				goto fail;
			i += 2;
		} else if (c == '+' && plus_is_space) {
			c = ' ';
		} else if (c == '\0') {
			goto fail;
		}
		out[o++] = c;
	}
	out[o] = '\0';
	/* Every name and value becomes a JSON string somewhere (an error message, an audit
	 * filter), and JSON strings are UTF-8. */
	if (!utf8_valid((const unsigned char *)out, o))
		goto fail;
	return out;
fail:
	free(out);
	return NULL;
}

void query_free(struct query_params *q)
{
	for (size_t i = 0; i < q->count; i++) {
		free(q->keys[i]);
		free(q->values[i]);
	}
	q->count = 0;
}

const char *query_get(const struct query_params *q, const char *key)
{
	for (size_t i = 0; i < q->count; i++)
		if (strcmp(q->keys[i], key) == 0)
			return q->values[i];
	return NULL;
}

int query_parse(const char *qs, struct query_params *out, char *err, size_t errlen)
{
	const char *p = qs ? qs : "";

	memset(out, 0, sizeof *out);
	while (*p) {
		const char *amp = strchr(p, '&'), *end = amp ? amp : p + strlen(p), *eq;
		char *key, *value;

		if (end == p) { /* empty segment, e.g. "a=1&&b=2" */
			p = amp ? amp + 1 : end;
			continue;
		}
		eq = memchr(p, '=', (size_t)(end - p));
		key = url_decode(p, (size_t)((eq ? eq : end) - p), true);
		value = eq ? url_decode(eq + 1, (size_t)(end - eq - 1), true) : strdup("");
		if (!key || !value) {
			snprintf(err, errlen, "malformed percent-encoding, or not UTF-8, in the query string");
			goto fail_pair;
		}
		if (query_get(out, key)) {
			snprintf(err, errlen, "parameter \"%.64s\" is given more than once", key);
			goto fail_pair;
		}
		if (out->count == QUERY_MAX_PARAMS) {
			snprintf(err, errlen, "too many query parameters (at most %d)", QUERY_MAX_PARAMS);
			goto fail_pair;
		}
		out->keys[out->count] = key;
		out->values[out->count] = value;
		out->count++;
		p = amp ? amp + 1 : end;
		continue;
fail_pair:
		free(key);
		free(value);
		query_free(out);
		return -1;
	}
	return 0;
}
