/* Refusals in the audit log: a terminal refused by the authorizer or by wsbridge, a sign-in
 * refused at the callback. Each is an audit row with outcome "denied" (or the caller's),
 * the code as reason, and in extra the code, the HTTP status, the message, the client
 * address and who refused ("via").
 *
 * Anyone can be refused as often as they like, so repeats are aggregated: per actor (or
 * "anonymous"), verb and code, the first refusal of each window (audit.refusalWindow, a
 * minute by default; windows start at the multiples of its length in unix time) writes its
 * row at once (extra.count 1); the later ones of that window are counted in
 * audit_refusal_windows; after the window, one summary row (extra.aggregated true,
 * extra.count = all of that window's refusals, extra.first_id = the first row) is written by
 * the next refusal or by periscope.fcgi's sweep (database.sweepInterval). At most two rows
 * per actor, verb, code and window, and audit rows stay append-only for the hash chain
 * (store/audit_chain.h). Every process that writes refusals (periscope.fcgi, the bridges)
 * reads the same configuration, so all count in windows of one length. A refusal that got
 * the write lock only after its window was summed up counts in the newest window instead
 * (a mark row, count 0, remembers how far the windows were summed up). */
#ifndef PERISCOPE_AUDIT_REFUSAL_H
#define PERISCOPE_AUDIT_REFUSAL_H

#include <sqlite3.h>

/* audit.refusalWindow's default. */
#define AUDIT_REFUSAL_WINDOW_S 60

struct audit_refusal {
	const char *verb;               /* cluster_shell_open, ssm_session_open, login */
	const char *outcome;            /* NULL = "denied" */
	const char *code;               /* E_... or a reason token; the aggregation key */
	const char *reason;             /* NULL = code */
	const char *message;            /* what the client was told; may be NULL */
	int status;                     /* HTTP status, 0 = none */
	const char *actor_sub;          /* NULL/"" = anonymous */
	const char *actor_email;
	const char *actor_groups_json;
	const char *cluster;
	/* The cluster as a metrics label: a configured name or "" (metrics_cluster_label), so
	 * that a name a stranger typed never becomes a series of its own. */
	const char *cluster_label;
	const char *target;             /* a node shell's node */
	const char *client;             /* the client's address */
	const char *via;                /* authorizer | wsbridge | callback */
	const char *request_id;
	const char *route;
	int window_s;                   /* audit.refusalWindow; 0 = AUDIT_REFUSAL_WINDOW_S */
};

/* Writes the refusal's row, or counts it in its window. Either way, in the same
 * transaction, every refusal is added to the metrics (periscope_shell_refusals_total by
 * kind, cluster_label and code; failed sign-ins to periscope_signins_total{outcome}).
 * 1 a row was written, 0 counted, -1 error (logged by audit_write when the row failed). */
int audit_refusal_record(sqlite3 *db, const struct audit_refusal *r, long long now_s);
/* Writes the summary rows of the windows (window_s long, 0 = AUDIT_REFUSAL_WINDOW_S) over
 * by now_s and forgets them. 0 or -1. */
int audit_refusal_flush(sqlite3 *db, long long now_s, int window_s);

/* The same on either engine (store/dbx.h). On PostgreSQL each runs under a transaction-level
 * advisory lock, so that refusals on several replicas count in one window and its summary
 * row is written once. */
struct dbx;
int audit_refusal_record_dbx(struct dbx *db, const struct audit_refusal *r, long long now_s);
int audit_refusal_flush_dbx(struct dbx *db, long long now_s, int window_s);

#endif
