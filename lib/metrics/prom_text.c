#include "metrics/prom_text.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool name_chars_ok(const char *s, bool colon)
{
	if (!s || !*s || (*s >= '0' && *s <= '9'))
		return false;
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || (colon && c == ':')))
			return false;
	}
	return true;
}

bool prom_metric_name_ok(const char *name)
{
	return name_chars_ok(name, true);
}

bool prom_label_name_ok(const char *name)
{
	return name_chars_ok(name, false) && strncmp(name, "__", 2) != 0;
}

/* HELP text escapes backslash and newline; label values also the double quote. */
static int append_escaped(struct buf *out, const char *s, bool quote)
{
	for (; *s; s++) {
		int rc;
		if (*s == '\\')
			rc = buf_append(out, "\\\\", 2);
		else if (*s == '\n')
			rc = buf_append(out, "\\n", 2);
		else if (quote && *s == '"')
			rc = buf_append(out, "\\\"", 2);
		else
			rc = buf_append(out, s, 1);
		if (rc != 0)
			return -1;
	}
	return 0;
}

int prom_family(struct buf *out, const char *name, const char *type, const char *help)
{
	if (!prom_metric_name_ok(name))
		return -1;
	if (buf_printf(out, "# HELP %s ", name) != 0 || append_escaped(out, help, false) != 0 ||
	    buf_printf(out, "\n# TYPE %s %s\n", name, type) != 0)
		return -1;
	return 0;
}

/* {a="x",b="y"} plus an optional last label (le), or nothing when there are none. */
static int append_labels(struct buf *out, const json_t *labels, const char *last_name,
			 const char *last_value)
{
	const char *key;
	json_t *value;
	bool first = true;

	if (labels && !json_is_object(labels))
		return -1;
	if ((!labels || json_object_size(labels) == 0) && !last_name)
		return 0;
	if (buf_append(out, "{", 1) != 0)
		return -1;
	json_object_foreach((json_t *)labels, key, value) {
		if (!prom_label_name_ok(key) || !json_is_string(value))
			return -1;
		if (buf_printf(out, "%s%s=\"", first ? "" : ",", key) != 0 ||
		    append_escaped(out, json_string_value(value), true) != 0 ||
		    buf_append(out, "\"", 1) != 0)
			return -1;
		first = false;
	}
	if (last_name && (buf_printf(out, "%s%s=\"", first ? "" : ",", last_name) != 0 ||
			  append_escaped(out, last_value, true) != 0 || buf_append(out, "\"", 1) != 0))
		return -1;
	return buf_append(out, "}", 1);
}

/* Integers print as integers (a counter of bytes must not turn into 1.2e+10), others with
 * the precision a double holds; NaN and infinities as the format spells them. */
static int append_value(struct buf *out, double v)
{
	char text[32];

	if (isnan(v))
		return buf_append_str(out, " NaN\n");
	if (isinf(v))
		return buf_append_str(out, v > 0 ? " +Inf\n" : " -Inf\n");
	if (v == floor(v) && fabs(v) < 9007199254740992.0)
		return buf_printf(out, " %.0f\n", v);
	/* The shortest of 15 or 17 digits that reads back as the same double (7.3, not
	 * 7.2999999999999998). */
	snprintf(text, sizeof text, "%.15g", v);
	if (strtod(text, NULL) != v)
		snprintf(text, sizeof text, "%.17g", v);
	return buf_printf(out, " %s\n", text);
}

static int sample_with(struct buf *out, const char *name, const char *suffix,
		       const json_t *labels, const char *last_name, const char *last_value,
		       double value)
{
	size_t mark = out->len;

	if (!prom_metric_name_ok(name) || buf_printf(out, "%s%s", name, suffix) != 0 ||
	    append_labels(out, labels, last_name, last_value) != 0 || append_value(out, value) != 0)
		goto fail;
	return 0;
fail:
	/* Leave no half line behind. */
	out->len = mark;
	if (out->data)
		out->data[mark] = '\0';
	return -1;
}

int prom_sample(struct buf *out, const char *name, const json_t *labels, double value)
{
	return sample_with(out, name, "", labels, NULL, NULL, value);
}

int prom_histogram(struct buf *out, const char *name, const json_t *labels,
		   const double *bounds, size_t n, const long long *buckets, double sum)
{
	long long cumulative = 0;
	char le[32];

	if (labels && json_object_get(labels, "le"))
		return -1;
	for (size_t i = 0; i <= n; i++) {
		cumulative += buckets[i];
		if (i < n)
			snprintf(le, sizeof le, "%g", bounds[i]);
		else
			snprintf(le, sizeof le, "+Inf");
		if (sample_with(out, name, "_bucket", labels, "le", le, (double)cumulative) != 0)
			return -1;
	}
	if (sample_with(out, name, "_sum", labels, NULL, NULL, sum) != 0 ||
	    sample_with(out, name, "_count", labels, NULL, NULL, (double)cumulative) != 0)
		return -1;
	return 0;
}
