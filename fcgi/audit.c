/* GET /api/audit, GET /api/audit/{id} and GET /api/audit/verify. Admins (auditAdminGroups, or the admin tier)
 * see every row; everyone else sees only their own, whatever actor they ask for. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "store/audit.h"
#include "store/audit_chain.h"
#include "store/audit_query.h"
#include "handlers.h"
#include "core/log.h"

static void set_scope_header(struct request *rq)
{
	add_header(rq, "X-Audit-Scope: %s", rq->identity.audit_admin ? "all" : "self");
}

void handle_audit_list(struct request *rq)
{
	struct audit_query q = { 0 };
	json_t *result = NULL;
	char err[256];

	set_scope_header(rq);
	for (size_t i = 0; i < rq->query.count; i++) {
		if (audit_query_set_param(&q, rq->query.keys[i], rq->query.values[i], err,
					  sizeof err) != 0) {
			respond_error(rq, 400, "E_INVALID_REQUEST", err, NULL);
			return;
		}
	}
	if (q.has_cursor && q.offset) {
		respond_error(rq, 400, "E_INVALID_REQUEST", "use either offset or cursor, not both",
			      NULL);
		return;
	}
	if (q.from_ns && q.to_ns && q.from_ns >= q.to_ns) {
		respond_error(rq, 400, "E_INVALID_REQUEST", "from must be before to", NULL);
		return;
	}
	if (!rq->identity.audit_admin)
		q.actor = rq->identity.subject;
	if (audit_query_run_dbx(rq->w->dbx, &q, &result, err, sizeof err) != 0) {
		log_json(LOG_ERROR, "audit", "query failed",
			 json_pack("{s:s, s:s}", "request_id", rq->request_id, "error", err));
		respond_error(rq, 500, "E_INTERNAL", "the audit query failed", NULL);
		return;
	}
	respond_json(rq, 200, result);
}

void handle_audit_get(struct request *rq)
{
	json_t *row = NULL;
	char *end;
	long long id;
	int found;

	set_scope_header(rq);
	errno = 0;
	id = strtoll(rq->params[0], &end, 10);
	if (errno || *end || id <= 0) {
		respond_error(rq, 400, "E_INVALID_REQUEST", "the audit id must be a positive integer",
			      NULL);
		return;
	}
	found = audit_get_dbx(rq->w->dbx, id, rq->identity.audit_admin ? NULL : rq->identity.subject, &row);
	if (found < 0) {
		respond_error(rq, 500, "E_INTERNAL", "the audit lookup failed", NULL);
		return;
	}
	if (found == 0) {
		respond_error(rq, 404, "E_NOT_FOUND", "no such audit event", NULL);
		return;
	}
	respond_json(rq, 200, row);
}

/* GET /api/audit/verify: the hash chain checked, as periscope-audit verify does; for audit
 * admins only (the whole log is theirs to see). */
void handle_audit_verify(struct request *rq)
{
	struct audit_verify v;

	set_scope_header(rq);
	if (!rq->identity.audit_admin) {
		respond_error(rq, 403, "E_FORBIDDEN", "only audit admins may verify the audit log", NULL);
		return;
	}
	if (audit_chain_verify_dbx(rq->w->dbx, &v) != 0) {
		log_json(LOG_ERROR, "audit", "chain verification failed",
			 json_pack("{s:s, s:s}", "request_id", rq->request_id, "error",
				   dbx_errmsg(rq->w->dbx)));
		respond_error(rq, 500, "E_INTERNAL", "the audit log could not be read", NULL);
		return;
	}
	if (!v.intact)
		log_json(LOG_ERROR, "audit", "the audit chain is broken",
			 json_pack("{s:s, s:I, s:s}", "request_id", rq->request_id, "broken_id",
				   (json_int_t)v.broken_id, "problem", v.problem));
	respond_json(rq, 200, audit_verify_json(&v));
}
