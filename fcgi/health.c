#include "handlers.h"

void handle_healthz(struct request *rq)
{
	/* Healthy means the database answers, since every route depends on it. */
	if (sqlite3_exec(rq->w->db, "SELECT 1", NULL, NULL, NULL) != SQLITE_OK) {
		respond_error(rq, 503, "E_UNAVAILABLE", "the database does not answer", NULL);
		return;
	}
	respond_json(rq, 200, json_pack("{s:s}", "status", "ok"));
}
