/* The Prometheus text exposition format, version 0.0.4 (what GET /metrics answers):
 *
 *   # HELP name text            (text: backslash and newline escaped)
 *   # TYPE name counter|gauge|histogram
 *   name{label="value",...} 42  (values: backslash, double quote and newline escaped)
 *
 * A histogram is name_bucket{...,le="b"} with cumulative counts, ending in le="+Inf",
 * then name_sum and name_count. Labels come as a JSON object of strings (the form the
 * counters are stored in, lib/metrics/metrics_store.h); anything else is refused, so a
 * bad row never yields a line Prometheus would reject. */
#ifndef PERISCOPE_PROM_TEXT_H
#define PERISCOPE_PROM_TEXT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* [a-zA-Z_:][a-zA-Z0-9_:]* */
bool prom_metric_name_ok(const char *name);
/* [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved). */
bool prom_label_name_ok(const char *name);

/* The HELP and TYPE lines of one family. 0 or -1 (bad name, buffer full). */
int prom_family(struct buf *out, const char *name, const char *type, const char *help);

/* One sample line. labels: a JSON object of strings, or NULL for none. 0 or -1. */
int prom_sample(struct buf *out, const char *name, const json_t *labels, double value);

/* One histogram series: bounds[n] ascending (without +Inf), buckets[n + 1] the
 * observations that fell into each bucket alone (the last is above every bound), which
 * are written out cumulative. 0 or -1. */
int prom_histogram(struct buf *out, const char *name, const json_t *labels,
		   const double *bounds, size_t n, const long long *buckets, double sum);

#endif
