#include "metrics/metrics_store.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/dbx.h"

/* Terminal opens: from the upgrade to hello is seconds (a pod to schedule, an SSM session
 * to start), so the buckets reach a minute. */
static const double open_seconds_bounds[] = { 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60 };

const struct metric_def metric_defs[] = {
	{ "periscope_build_info", METRIC_GAUGE,
	  "Always 1; the version label names the running periscope.", NULL, 0 },
	{ "periscope_sessions_open", METRIC_GAUGE,
	  "Terminals open now (live-session registry), by kind and cluster.", NULL, 0 },
	{ "periscope_shell_opens_total", METRIC_COUNTER,
	  "Terminals opened (open audit rows), by kind and cluster.", NULL, 0 },
	{ "periscope_shell_closes_total", METRIC_COUNTER,
	  "Terminals closed (close audit rows, lost ones included), by kind, cluster and reason.",
	  NULL, 0 },
	{ METRIC_SHELL_REFUSALS, METRIC_COUNTER,
	  "Terminal opens refused by a gate, by kind, cluster and error code.", NULL, 0 },
	{ METRIC_OPEN_SECONDS, METRIC_HISTOGRAM,
	  "Seconds from the terminal's upgrade to its hello frame (stage=hello) and to its first "
	  "output (stage=first_output), by kind.", open_seconds_bounds,
	  sizeof open_seconds_bounds / sizeof open_seconds_bounds[0] },
	{ "periscope_shell_bytes_total", METRIC_COUNTER,
	  "Terminal bytes relayed by closed terminals, by kind and direction (in: from the "
	  "browser, out: to the browser).", NULL, 0 },
	{ "periscope_bridges_lost_total", METRIC_COUNTER,
	  "Terminals whose bridge process died without closing them (close rows with reason "
	  "lost, written by the maintenance sweep), by kind and cluster.", NULL, 0 },
	{ METRIC_UPSTREAM, METRIC_COUNTER,
	  "Requests to upstream services, by service and status class (error: no answer).",
	  NULL, 0 },
	{ "periscope_signins_total", METRIC_COUNTER, "Sign-ins, by outcome.", NULL, 0 },
	{ "periscope_audit_rows", METRIC_GAUGE, "Rows in the audit log.", NULL, 0 },
	{ "periscope_audit_bytes", METRIC_GAUGE,
	  "Bytes of the audit rows, as measured against the budget.", NULL, 0 },
	{ "periscope_audit_budget_bytes", METRIC_GAUGE,
	  "The audit budget (audit.maxSizeMB) in bytes; 0 means no budget.", NULL, 0 },
	{ METRIC_RETENTION_DELETED, METRIC_COUNTER,
	  "Audit rows deleted by retention, by cause (age or size).", NULL, 0 },
};
const size_t metric_defs_count = sizeof metric_defs / sizeof metric_defs[0];

const struct metric_def *metric_def_find(const char *name)
{
	for (size_t i = 0; name && i < metric_defs_count; i++)
		if (strcmp(metric_defs[i].name, name) == 0)
			return &metric_defs[i];
	return NULL;
}

const char *metric_type_name(enum metric_type type)
{
	switch (type) {
	case METRIC_COUNTER: return "counter";
	case METRIC_GAUGE: return "gauge";
	case METRIC_HISTOGRAM: return "histogram";
	}
	return "untyped";
}

char *metrics_labels(const char *name, ...)
{
	json_t *o = json_object();
	char *text = NULL;
	va_list ap;

	if (!o)
		return NULL;
	va_start(ap, name);
	for (const char *k = name; k; k = va_arg(ap, const char *)) {
		const char *v = va_arg(ap, const char *);
		if (json_object_set_new(o, k, json_string(v ? v : "")) != 0)
			goto done;
	}
	text = json_dumps(o, JSON_COMPACT);
done:
	va_end(ap);
	json_decref(o);
	return text;
}

const char *metrics_cluster_label(const struct config *cfg, const char *name)
{
	const struct cluster_config *c = name ? config_find_cluster(cfg, name) : NULL;

	return c ? c->name : "";
}

static int exec_bound(struct dbx *db, const char *sql, const char *name, const char *labels,
		      long long a)
{
	struct dbx_stmt *st = NULL;
	int rc = -1;

	if (dbx_prepare(db, sql, &st) != 0)
		return -1;
	if (dbx_bind_text(st, 1, name) != 0 || dbx_bind_text(st, 2, labels ? labels : "{}") != 0 ||
	    dbx_bind_int64(st, 3, a) != 0)
		goto done;
	if (dbx_step(st) == DBX_DONE)
		rc = 0;
done:
	dbx_finalize(st);
	return rc;
}

/* PostgreSQL names the stored row by its table in an upsert's SET (a bare column is
 * ambiguous with excluded's); SQLite's text is kept as it was. */
int metrics_counter_add_dbx(struct dbx *db, const char *name, const char *labels,
			    long long delta)
{
	static const char sql[] =
		"INSERT INTO metrics_counters (name, labels, value) VALUES (?1, ?2, ?3)"
		" ON CONFLICT (name, labels) DO UPDATE SET value = value + excluded.value"
		"";
	static const char pg_sql[] =
		"INSERT INTO metrics_counters (name, labels, value) VALUES (?1, ?2, ?3)"
		" ON CONFLICT (name, labels) DO UPDATE SET value = metrics_counters.value"
		" + excluded.value";
	const struct metric_def *def = metric_def_find(name);

	/* Counters only go up: a negative delta would make Prometheus see a reset. */
	if (!def || def->type != METRIC_COUNTER || delta < 0)
		return -1;
	if (delta == 0)
		return 0;
	return exec_bound(db, dbx_sql(db, sql, pg_sql), name, labels, delta);
}

int metrics_counter_add(sqlite3 *db, const char *name, const char *labels, long long delta)
{
	struct dbx x;

	dbx_borrow_sqlite(&x, db);
	return metrics_counter_add_dbx(&x, name, labels, delta);
}

/* The bucket an observation falls in: the first bound it does not exceed, or n (+Inf). */
static long long bucket_of(const struct metric_def *def, long long ms)
{
	size_t i = 0;

	while (i < def->nbounds && (double)ms / 1000.0 > def->bounds[i])
		i++;
	return (long long)i;
}

int metrics_observe_ms_dbx(struct dbx *db, const char *name, const char *labels, long long ms)
{
	static const char hist_sql[] =
		"INSERT INTO metrics_histograms (name, labels, count, sum_ms) VALUES (?1, ?2, 1, ?3)"
		" ON CONFLICT (name, labels) DO UPDATE SET count = count + 1,"
		" sum_ms = sum_ms + excluded.sum_ms";
	static const char hist_pg_sql[] =
		"INSERT INTO metrics_histograms (name, labels, count, sum_ms) VALUES (?1, ?2, 1, ?3)"
		" ON CONFLICT (name, labels) DO UPDATE SET count = metrics_histograms.count + 1,"
		" sum_ms = metrics_histograms.sum_ms + excluded.sum_ms";
	static const char bucket_sql[] =
		"INSERT INTO metrics_buckets (name, labels, bucket, count) VALUES (?1, ?2, ?3, 1)"
		" ON CONFLICT (name, labels, bucket) DO UPDATE SET count = count + 1";
	static const char bucket_pg_sql[] =
		"INSERT INTO metrics_buckets (name, labels, bucket, count) VALUES (?1, ?2, ?3, 1)"
		" ON CONFLICT (name, labels, bucket) DO UPDATE SET count = metrics_buckets.count + 1";
	const struct metric_def *def = metric_def_find(name);
	bool own = !dbx_in_transaction(db);

	if (!def || def->type != METRIC_HISTOGRAM)
		return -1;
	if (ms < 0)
		ms = 0;
	if (own && dbx_begin_write(db) != 0)
		return -1;
	if (exec_bound(db, dbx_sql(db, hist_sql, hist_pg_sql), name, labels, ms) != 0 ||
	    exec_bound(db, dbx_sql(db, bucket_sql, bucket_pg_sql), name, labels,
		       bucket_of(def, ms)) != 0)
		goto fail;
	if (own && dbx_commit(db) != 0)
		goto fail;
	return 0;
fail:
	if (own)
		dbx_rollback(db);
	return -1;
}

int metrics_observe_ms(sqlite3 *db, const char *name, const char *labels, long long ms)
{
	struct dbx x;

	dbx_borrow_sqlite(&x, db);
	return metrics_observe_ms_dbx(&x, name, labels, ms);
}

int metrics_upstream_flush_dbx(struct dbx *db, struct upstream_tally *t)
{
	bool any = false;

	for (int s = 1; s < UPSTREAM_SERVICES; s++)
		for (int c = 0; c < UPSTREAM_CLASSES; c++)
			any = any || t->n[s][c] > 0;
	if (!any)
		return 0;
	if (dbx_begin_write(db) != 0)
		return -1;
	for (int s = 1; s < UPSTREAM_SERVICES; s++) {
		for (int c = 0; c < UPSTREAM_CLASSES; c++) {
			char *labels;
			int rc;
			if (t->n[s][c] == 0)
				continue;
			labels = metrics_labels("service", upstream_service_name((enum upstream_service)s),
						"class", upstream_class_name(c), NULL);
			rc = labels ? metrics_counter_add_dbx(db, METRIC_UPSTREAM, labels, t->n[s][c])
				    : -1;
			free(labels);
			if (rc != 0)
				goto fail;
		}
	}
	if (dbx_commit(db) != 0)
		goto fail;
	memset(t->n, 0, sizeof t->n);
	return 0;
fail:
	dbx_rollback(db);
	return -1;
}

int metrics_upstream_flush(sqlite3 *db, struct upstream_tally *t)
{
	struct dbx x;

	dbx_borrow_sqlite(&x, db);
	return metrics_upstream_flush_dbx(&x, t);
}
