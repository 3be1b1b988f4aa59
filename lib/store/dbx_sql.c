#include "store/dbx_sql.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copies a quoted run (' or ") from s, doubled quotes included; returns the byte after the
 * closing quote, or NULL when it never closes. */
static const char *copy_quoted(const char *s, char **o)
{
	char q = *s;

	*(*o)++ = *s++;
	for (;;) {
		if (!*s)
			return NULL;
		*(*o)++ = *s;
		if (*s++ == q) {
			if (*s != q)
				return s;
			*(*o)++ = *s++;
		}
	}
}

/* Copies a comment ("-- ...\n" or a block comment) from s; NULL when a block never ends. */
static const char *copy_comment(const char *s, char **o)
{
	const char *end;
	size_t n;

	if (s[0] == '-') {
		n = strcspn(s, "\n");
	} else {
		end = strstr(s + 2, "*/");
		if (!end)
			return NULL;
		n = (size_t)(end + 2 - s);
	}
	memcpy(*o, s, n);
	*o += n;
	return s + n;
}

int dbx_translate_placeholders(const char *sql, int max_params, char **out, int *nparams)
{
	/* Each "?" grows to "$" and at most 10 digits; 11 times the input is always enough. */
	size_t cap = strlen(sql) * 11 + 1;
	char *buf = malloc(cap), *o = buf;
	const char *s = sql;
	int largest = 0;

	*out = NULL;
	*nparams = 0;
	if (!buf)
		return -1;
	while (*s) {
		if (*s == '\'' || *s == '"') {
			s = copy_quoted(s, &o);
		} else if ((s[0] == '-' && s[1] == '-') || (s[0] == '/' && s[1] == '*')) {
			s = copy_comment(s, &o);
		} else if (*s == '?') {
			long idx = largest + 1;

			s++;
			if (isdigit((unsigned char)*s)) {
				char *end;

				idx = strtol(s, &end, 10);
				s = end;
			}
			if (idx < 1 || idx > max_params)
				goto fail;
			if (idx > largest)
				largest = (int)idx;
			o += sprintf(o, "$%ld", idx);
		} else {
			*o++ = *s++;
		}
		if (!s)
			goto fail;
	}
	*o = '\0';
	*out = buf;
	*nparams = largest;
	return 0;
fail:
	free(buf);
	return -1;
}
