/* The counters behind GET /metrics, kept in SQLite (sql/007_metrics.sql) so that every
 * process adds to the same numbers and none go backwards when a process exits or retention
 * deletes audit rows. Audit-row events (sign-ins, opens, closes, lost bridges, bytes) are
 * counted by a trigger in the row's own transaction; the rest come through here.
 *
 * Labels are a compact JSON object of strings in the metric's label order (the catalogue
 * below names it); values must be bounded: cluster names from the config
 * (metrics_cluster_label), kinds, codes and reasons from the code. Never a user or node. */
#ifndef PERISCOPE_METRICS_STORE_H
#define PERISCOPE_METRICS_STORE_H

#include <sqlite3.h>
#include <stddef.h>

#include "config/config.h"
#include "metrics/upstream_tally.h"

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

struct metric_def {
	const char *name;
	enum metric_type type;
	const char *help;
	const double *bounds;   /* histograms: upper bounds in seconds, ascending */
	size_t nbounds;
};

/* Every metric periscope exposes, in the order /metrics writes them (docs/monitoring.md). */
extern const struct metric_def metric_defs[];
extern const size_t metric_defs_count;
const struct metric_def *metric_def_find(const char *name);
const char *metric_type_name(enum metric_type type);

#define METRIC_SHELL_REFUSALS "periscope_shell_refusals_total"
#define METRIC_OPEN_SECONDS "periscope_shell_open_seconds"
#define METRIC_RETENTION_DELETED "periscope_audit_retention_deleted_total"
#define METRIC_UPSTREAM "periscope_upstream_requests_total"

/* A compact JSON object from NULL-terminated name, value pairs; malloc'd, or NULL. */
char *metrics_labels(const char *name, ...) __attribute__((sentinel));

/* The cluster label for a name a request gave: the name when the config has that cluster,
 * else "" (an unknown name must not become a series of its own). */
const char *metrics_cluster_label(const struct config *cfg, const char *name);

/* Adds delta to a counter of the catalogue (in the caller's transaction if one is open).
 * 0 or -1. */
int metrics_counter_add(sqlite3 *db, const char *name, const char *labels, long long delta);

/* One observation of a histogram of the catalogue, in milliseconds. 0 or -1. */
int metrics_observe_ms(sqlite3 *db, const char *name, const char *labels, long long ms);

/* Adds the tally to periscope_upstream_requests_total in one transaction and zeroes it;
 * on failure the tally is kept for the next flush. 0 or -1. */
int metrics_upstream_flush(sqlite3 *db, struct upstream_tally *t);

/* The same three on either engine (store/dbx.h). */
struct dbx;
int metrics_counter_add_dbx(struct dbx *db, const char *name, const char *labels,
			    long long delta);
int metrics_observe_ms_dbx(struct dbx *db, const char *name, const char *labels, long long ms);
int metrics_upstream_flush_dbx(struct dbx *db, struct upstream_tally *t);

#endif
