#include "store/shell_lost.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/audit.h"
#include "store/dbx.h"
#include "core/log.h"

static long long int_of(const json_t *row, const char *key)
{
	return (long long)json_integer_value(json_object_get(row, key));
}

static const char *str_of(const json_t *row, const char *key)
{
	return json_string_value(json_object_get(row, key));
}

/* The close row's extra, in the shape the bridge writes (docs/audit-api.md). */
static json_t *lost_extra(const json_t *row, bool cluster_kind)
{
	long long started = int_of(row, "started_at_ms"), beat = int_of(row, "heartbeat_at_ms");
	char started_at[40], ended_at[40];
	json_t *extra = json_object();

	if (!extra)
		return NULL;
	/* A row admitted before the heartbeat column existed has none: its start is all we know. */
	if (beat < started)
		beat = started;
	format_rfc3339_ms(started, started_at, sizeof started_at);
	format_rfc3339_ms(beat, ended_at, sizeof ended_at);
	/* What the backend recorded (pod and namespace, SSM session and instance) comes first;
	 * the fields below are the reaper's own. */
	json_object_update(extra, json_object_get(row, "detail"));
	json_object_set_new(extra, "session_id", json_string(str_of(row, "id")));
	if (str_of(row, "tier"))
		json_object_set_new(extra, "tier", json_string(str_of(row, "tier")));
	if (cluster_kind && str_of(row, "mode"))
		json_object_set_new(extra, "mode", json_string(str_of(row, "mode")));
	if (!cluster_kind && str_of(row, "target"))
		json_object_set_new(extra, "node", json_string(str_of(row, "target")));
	json_object_set_new(extra, "started_at", json_string(started_at));
	json_object_set_new(extra, "ended_at", json_string(ended_at));
	json_object_set_new(extra, "last_heartbeat_at", json_string(ended_at));
	json_object_set_new(extra, "duration_ms", json_integer(beat - started));
	json_object_set_new(extra, "exit_code", json_integer(-1));
	json_object_set_new(extra, "bytes_in", json_integer(int_of(row, "bytes_in")));
	json_object_set_new(extra, "bytes_out", json_integer(int_of(row, "bytes_out")));
	json_object_set_new(extra, "close_reason", json_string(SHELL_LOST_REASON));
	json_object_set_new(extra, "err_code", json_string("E_SESSION_LOST"));
	json_object_set_new(extra, "err", json_string("the terminal's process ended without closing "
						      "its session (killed, out of memory, or a reboot)"));
	return extra;
}

/* The audit log's writer on either engine: inside the caller's transaction (a savepoint),
 * so that the claim on the registry row and its close row commit together. */
int shell_close_row_write(struct dbx *db, const struct audit_event *ev)
{
	return audit_write_dbx(db, ev, NULL);
}

int shell_lost_write_dbx(struct dbx *db, const json_t *row)
{
	bool cluster_kind = strcmp(str_of(row, "kind") ? str_of(row, "kind") : "", "cluster_shell") == 0;
	json_t *extra = lost_extra(row, cluster_kind);
	char *groups = json_dumps(json_object_get(row, "actor_groups"), JSON_COMPACT);
	struct audit_event ev = { 0 };
	int rc = -1;

	if (!extra || !groups)
		goto done;
	ev.verb = cluster_kind ? "cluster_shell_close" : "ssm_session_close";
	ev.outcome = "failure";
	ev.reason = SHELL_LOST_REASON;
	ev.actor_sub = str_of(row, "actor_sub");
	ev.actor_email = str_of(row, "actor_email");
	ev.actor_groups_json = groups;
	ev.cluster = str_of(row, "cluster");
	ev.extra = extra;
	rc = shell_close_row_write(db, &ev);
done:
	json_decref(extra);
	free(groups);
	return rc;
}

int shell_lost_write(sqlite3 *db, const json_t *row)
{
	struct dbx d;

	dbx_borrow_sqlite(&d, db);
	return shell_lost_write_dbx(&d, row);
}
