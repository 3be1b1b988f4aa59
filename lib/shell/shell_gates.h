/* The gates in front of a terminal session, in the seeds' order, shared by the FastCGI
 * authorizer (which answers them as HTTP statuses before the upgrade) and wsbridge (which
 * checks them again from the session cookie and answers with an error frame). */
#ifndef PERISCOPE_SHELL_GATES_H
#define PERISCOPE_SHELL_GATES_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>

#include "auth/auth.h"
#include "config/config.h"
#include "store/shell_registry.h"

enum shell_kind { SHELL_CLUSTER, SHELL_NODE };

struct shell_target {
	enum shell_kind kind;
	char *cluster;           /* decoded path segments (owned) */
	char *node;              /* node shell only */
	char *mode;              /* the ?mode= query value, or NULL */
};

/* Parses /api/clusters/{c}/shell or /api/clusters/{c}/nodes/{n}/shell plus its query.
 * 1 parsed, 0 not a shell path, -1 malformed. */
int shell_target_parse(const char *request_uri, struct shell_target *out);
void shell_target_clear(struct shell_target *t);
const char *shell_kind_name(enum shell_kind kind);   /* "cluster_shell" | "node_shell" */

struct gate_answer {
	int status;              /* HTTP status: 400, 401, 403, 404, 429, 500 */
	const char *code;        /* E_... */
	char message[256];
	json_t *extras;          /* extra body fields, or NULL (owned) */
};

void gate_answer_clear(struct gate_answer *a);
/* Fills a refusal (extras is consumed) and returns -1, for `return gate_refuse(...)`. */
int gate_refuse(struct gate_answer *ans, int status, const char *code, json_t *extras,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The gates that need no network, in order: cluster exists (404), shell enabled for it
 * (403), authorization mode is tier (403), signed in (401), tier allowed (403), mode
 * (400). id is NULL when the request has no valid session. 0 = pass. */
int shell_gates_static(const struct config *cfg, const struct shell_target *t,
		       const struct identity *id, struct gate_answer *ans);
/* The caps, as a check (take_slot NULL) or as the atomic admission of slot, on either engine
 * (the rows of other replicas judged by their lease, this one being database.replicaId).
 * 0 = pass. */
struct dbx;
int shell_gates_caps(const struct config *cfg, struct dbx *db, const struct shell_target *t,
		     const struct identity *id, const struct shell_slot *take_slot,
		     struct gate_answer *ans);
/* An agent cluster (docs/agent.md) answers only while its agent holds the tunnel: 503
 * E_CLUSTER_UNREACHABLE (retryable) before any upgrade when it does not. 0 = pass. */
int shell_gate_tunnel(const struct config *cfg, struct dbx *db, const struct shell_target *t,
		      struct gate_answer *ans);
/* The browser page's origin must be this server's (or an allowed one). 0 = pass. */
int shell_gate_origin(const struct config *cfg, const char *origin, struct gate_answer *ans);

/* The effective settings of a kind: caps and timers. */
void shell_caps_for(const struct config *cfg, enum shell_kind kind, struct shell_caps *caps);
const struct terminal_timers *shell_timers_for(const struct config *cfg, enum shell_kind kind);

#endif
