/* GET /metrics' body: every metric of the catalogue (lib/metrics/metrics_store.h) in the
 * text exposition format, the counters read from the database, the gauges computed now
 * (terminals open from the live-session registry, the audit log's size and budget). */
#ifndef PERISCOPE_METRICS_RENDER_H
#define PERISCOPE_METRICS_RENDER_H

#include <sqlite3.h>

#include "config/config.h"
#include "core/buf.h"

/* Gauges the caller measures (the readiness checks are the FastCGI side's). */
struct metrics_extra {
	int ready;              /* 1, 0, or -1 to leave periscope_ready out */
};

/* Appends the whole exposition to out. 0, or -1 when the database cannot be read. */
int metrics_render(sqlite3 *db, const struct config *cfg, const struct metrics_extra *extra,
		   struct buf *out);
/* The same on either engine (store/dbx.h), from one snapshot. */
struct dbx;
int metrics_render_dbx(struct dbx *db, const struct config *cfg,
		       const struct metrics_extra *extra, struct buf *out);

#endif
