#include "metrics/metrics_render.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics_store.h"
#include "metrics/prom_text.h"
#include "store/audit_retention.h"
#include "store/dbx.h"

static const char *const shell_kinds[] = { "cluster_shell", "node_shell" };

/* Counters by kind and cluster start at 0 for every configured cluster: Prometheus sees a
 * series only from its first sample, so increase() over the very first lost bridge would
 * be 0 if the series appeared with it. */
static bool by_kind_and_cluster(const char *name)
{
	return strcmp(name, "periscope_shell_opens_total") == 0 ||
	       strcmp(name, "periscope_bridges_lost_total") == 0;
}

static int prefill_zero(const struct config *cfg, json_t *series)
{
	for (size_t k = 0; k < 2; k++) {
		for (size_t i = 0; i < cfg->clusters_count; i++) {
			char *text = metrics_labels("kind", shell_kinds[k], "cluster", cfg->clusters[i].name, NULL);
			int rc = text ? json_object_set_new(series, text, json_integer(0)) : -1;
			free(text);
			if (rc != 0)
				return -1;
		}
	}
	return 0;
}

/* Writes the stored series of one counter, ordered by labels. */
static int render_counter(struct dbx *db, const struct config *cfg, const char *name, struct buf *out)
{
	json_t *series = json_object(), *value;
	struct dbx_stmt *st = NULL;
	const char *key;
	int rc = -1;
	enum dbx_step step;

	if (!series || (by_kind_and_cluster(name) && prefill_zero(cfg, series) != 0))
		goto done;
	if (dbx_prepare(db, dbx_sql(db, "SELECT labels, value FROM metrics_counters WHERE name = ?"
					" ORDER BY labels",
				    "SELECT labels, value FROM metrics_counters WHERE name = ?"
				    " ORDER BY labels COLLATE \"C\""), &st) != 0)
		goto done;
	dbx_bind_text(st, 1, name);
	while ((step = dbx_step(st)) == DBX_ROW)
		json_object_set_new(series, dbx_column_text(st, 0),
				    json_integer(dbx_column_int64(st, 1)));
	if (step != DBX_DONE)
		goto done;
	json_object_foreach(series, key, value) {
		json_t *labels = json_loads(key, 0, NULL);
		/* A row that does not render (it cannot come from periscope) is skipped, not
		 * allowed to spoil the whole scrape. */
		prom_sample(out, name, labels, (double)json_integer_value(value));
		json_decref(labels);
	}
	rc = 0;
done:
	dbx_finalize(st);
	json_decref(series);
	return rc;
}

static int read_buckets(struct dbx *db, const struct metric_def *def, const char *labels,
			long long *buckets)
{
	struct dbx_stmt *st = NULL;
	int rc = -1;
	enum dbx_step step;

	memset(buckets, 0, (def->nbounds + 1) * sizeof *buckets);
	if (dbx_prepare(db, "SELECT bucket, count FROM metrics_buckets"
				   " WHERE name = ?1 AND labels = ?2", &st) != 0)
		return -1;
	dbx_bind_text(st, 1, def->name);
	dbx_bind_text(st, 2, labels);
	while ((step = dbx_step(st)) == DBX_ROW) {
		long long b = dbx_column_int64(st, 0);
		if (b >= 0 && b <= (long long)def->nbounds)
			buckets[b] += dbx_column_int64(st, 1);
	}
	if (step == DBX_DONE)
		rc = 0;
	dbx_finalize(st);
	return rc;
}

static int render_histogram(struct dbx *db, const struct metric_def *def, struct buf *out)
{
	long long buckets[32];
	struct dbx_stmt *st = NULL;
	int rc = -1;
	enum dbx_step step;

	if (def->nbounds + 1 > sizeof buckets / sizeof buckets[0])
		return -1;
	/* PostgreSQL orders by bytes, as SQLite does, whatever the database's collation. */
	if (dbx_prepare(db, dbx_sql(db, "SELECT labels, sum_ms FROM metrics_histograms WHERE name = ?"
					" ORDER BY labels",
				    "SELECT labels, sum_ms FROM metrics_histograms WHERE name = ?"
				    " ORDER BY labels COLLATE \"C\""), &st) != 0)
		return -1;
	dbx_bind_text(st, 1, def->name);
	while ((step = dbx_step(st)) == DBX_ROW) {
		const char *text = dbx_column_text(st, 0);
		json_t *labels = json_loads(text, 0, NULL);
		if (labels && read_buckets(db, def, text, buckets) == 0)
			prom_histogram(out, def->name, labels, def->bounds, def->nbounds, buckets,
				       (double)dbx_column_int64(st, 1) / 1000.0);
		json_decref(labels);
	}
	if (step == DBX_DONE)
		rc = 0;
	dbx_finalize(st);
	return rc;
}

/* Every configured cluster and kind appears, at 0 when nothing is open there, so that a
 * dashboard's series do not vanish; a row naming a cluster the config no longer has counts
 * under cluster="". */
static int render_sessions_open(struct dbx *db, const struct config *cfg, struct buf *out)
{
	static const char name[] = "periscope_sessions_open";
	json_t *series = json_object(), *labels;
	struct dbx_stmt *st = NULL;
	const char *key;
	json_t *count;
	char *text;
	int rc = -1;
	enum dbx_step step;

	if (!series || prefill_zero(cfg, series) != 0)
		goto done;
	if (dbx_prepare(db, "SELECT kind, cluster, count(*) FROM shell_sessions"
				   " GROUP BY kind, cluster", &st) != 0)
		goto done;
	while ((step = dbx_step(st)) == DBX_ROW) {
		const char *kind = dbx_column_text(st, 0);
		const char *cluster = metrics_cluster_label(cfg, dbx_column_text(st, 1));
		text = metrics_labels("kind", kind, "cluster", cluster, NULL);
		if (!text)
			goto done;
		json_object_set_new(series, text,
				    json_integer(json_integer_value(json_object_get(series, text)) +
						 dbx_column_int64(st, 2)));
		free(text);
	}
	if (step != DBX_DONE)
		goto done;
	json_object_foreach(series, key, count) {
		labels = json_loads(key, 0, NULL);
		prom_sample(out, name, labels, (double)json_integer_value(count));
		json_decref(labels);
	}
	rc = 0;
done:
	dbx_finalize(st);
	json_decref(series);
	return rc;
}

static int render_audit(struct dbx *db, const struct config *cfg, const char *name, struct buf *out)
{
	long long bytes, rows;

	if (audit_usage_get_dbx(db, &bytes, &rows) != 0)
		return -1;
	if (strcmp(name, "periscope_audit_rows") == 0)
		return prom_sample(out, name, NULL, (double)rows);
	if (strcmp(name, "periscope_audit_bytes") == 0)
		return prom_sample(out, name, NULL, (double)bytes);
	return prom_sample(out, name, NULL, (double)cfg->audit.max_size_mb * 1024.0 * 1024.0);
}

static int render_one(struct dbx *db, const struct config *cfg, const struct metric_def *def,
		      struct buf *out)
{
	if (strcmp(def->name, "periscope_build_info") == 0) {
		json_t *labels = json_pack("{s:s}", "version", PACKAGE_VERSION);
		int rc = prom_sample(out, def->name, labels, 1);
		json_decref(labels);
		return rc;
	}
	if (strcmp(def->name, "periscope_sessions_open") == 0)
		return render_sessions_open(db, cfg, out);
	if (strncmp(def->name, "periscope_audit_", 16) == 0 && def->type == METRIC_GAUGE)
		return render_audit(db, cfg, def->name, out);
	if (def->type == METRIC_HISTOGRAM)
		return render_histogram(db, def, out);
	if (def->type == METRIC_COUNTER)
		return render_counter(db, cfg, def->name, out);
	return 0;
}

int metrics_render_dbx(struct dbx *db, const struct config *cfg, const struct metrics_extra *extra,
		   struct buf *out)
{
	int rc = -1;

	/* One read transaction: every number of a scrape from the same moment. */
	if (dbx_exec(db, dbx_sql(db, "BEGIN", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")) != 0)
		return -1;
	for (size_t i = 0; i < metric_defs_count; i++) {
		const struct metric_def *def = &metric_defs[i];
		if (prom_family(out, def->name, metric_type_name(def->type), def->help) != 0 ||
		    render_one(db, cfg, def, out) != 0)
			goto done;
	}
	if (extra && extra->ready >= 0 &&
	    (prom_family(out, "periscope_ready", "gauge",
			 "1 when /readyz answers ready (database writable, schema current, audit "
			 "budget not exhausted, config loaded), else 0.") != 0 ||
	     prom_sample(out, "periscope_ready", NULL, extra->ready) != 0))
		goto done;
	rc = 0;
done:
	dbx_commit(db);
	return rc;
}

int metrics_render(sqlite3 *db, const struct config *cfg, const struct metrics_extra *extra,
		   struct buf *out)
{
	struct dbx x;

	dbx_borrow_sqlite(&x, db);
	return metrics_render_dbx(&x, cfg, extra, out);
}
