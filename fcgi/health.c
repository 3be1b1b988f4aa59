#include "handlers.h"
#include "store/audit_retention.h"

void handle_healthz(struct request *rq)
{
	/* Healthy means the database answers, since every route depends on it. */
	if (sqlite3_exec(rq->w->db, "SELECT 1", NULL, NULL, NULL) != SQLITE_OK) {
		respond_error(rq, 503, "E_UNAVAILABLE", "the database does not answer", NULL);
		return;
	}
	respond_json(rq, 200, json_pack("{s:s}", "status", "ok"));
}

/* GET /api/health: /healthz plus the audit budget. A reached budget is "degraded" (the
 * service still works, so 200): with retentionDays set, rows younger than it are kept and
 * the operator must raise audit.maxSizeMB or lower retentionDays (store/audit_retention.h). */
void handle_api_health(struct request *rq)
{
	const struct config *cfg = rq->w->cfg;
	long long bytes, rows, budget = (long long)cfg->audit.max_size_mb * 1024 * 1024;
	bool reached;

	if (audit_usage_get(rq->w->db, &bytes, &rows) != 0) {
		respond_error(rq, 503, "E_UNAVAILABLE", "the database does not answer", NULL);
		return;
	}
	reached = budget > 0 && bytes >= budget;
	respond_json(rq, 200,
		     json_pack("{s:s, s:s, s:{s:I, s:I, s:I, s:b, s:i}}", "status",
			       reached ? "degraded" : "ok", "database", "ok", "audit", "bytes",
			       (json_int_t)bytes, "rows", (json_int_t)rows, "budgetBytes",
			       (json_int_t)budget, "budgetReached", reached, "retentionDays",
			       cfg->audit.retention_days));
}
