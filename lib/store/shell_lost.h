/* The close row of a terminal whose process died without writing one (SIGKILL, OOM, a
 * crash, a reboot): written by whoever reaps its live-session row (shell_registry.h), with
 * reason "lost" and what the row knows: who, where, when it started, its last heartbeat
 * (the end of its known life: ended_at and duration_ms) and its bytes up to that heartbeat. */
#ifndef PERISCOPE_SHELL_LOST_H
#define PERISCOPE_SHELL_LOST_H

#include <jansson.h>
#include <sqlite3.h>

#define SHELL_LOST_REASON "lost"

/* row: {id, kind, cluster, detail, actor_sub, actor_email?, actor_groups, target?, tier?,
 * mode?, started_at_ms, heartbeat_at_ms, bytes_in, bytes_out}. 0, or -1. */
int shell_lost_write(sqlite3 *db, const json_t *row);
struct dbx;
int shell_lost_write_dbx(struct dbx *db, const json_t *row);

struct audit_event;
/* Writes a terminal's close row (the bridge's or the reaper's) on either engine: the audit
 * log's writer for the engine. 0, or -1. */
int shell_close_row_write(struct dbx *db, const struct audit_event *ev);

#endif
