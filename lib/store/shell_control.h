/* Live terminals seen, ended and watched from the API (docs/sessions-api.md), through their
 * rows in shell_sessions (store/shell_registry.h) and shell_watchers, in the shared
 * database: an end or a watch asked on any replica reaches the bridge on any other. periscope.fcgi lists
 * the rows and sets a terminate request on one; the bridge owning the row reads it every
 * SHELL_CONTROL_POLL_MS and ends its terminal when asked, so the end takes at most two
 * polls (the bridge's loop also wakes at least every second). */
#ifndef PERISCOPE_SHELL_CONTROL_H
#define PERISCOPE_SHELL_CONTROL_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>

#define SHELL_CONTROL_POLL_MS 1000
/* A watcher counts as watching while its last poll is this recent. */
#define SHELL_WATCHER_FRESH_MS 10000

struct shell_control_state {
	bool terminate;           /* someone asked to end the terminal */
	char by_sub[256];         /* who */
	char by_email[256];
	int watchers;             /* audit admins watching now */
};

/* The bridge's poll of its own row. 0 (a missing row reads as nothing asked), or -1. */
int shell_control_poll(sqlite3 *db, const char *id, long long now_ms,
		       struct shell_control_state *out);
/* The bridge's heartbeat adds when its terminal was last active (wall ms). 0, or -1. */
int shell_control_activity(sqlite3 *db, const char *id, long long last_activity_ms);

/* The live terminals, {"items": [...]} (docs/sessions-api.md), everyone's when actor is
 * NULL, else that actor's. NULL on error. */
json_t *shell_control_list(sqlite3 *db, const char *actor, long long now_ms);
/* One live terminal as listed, or NULL when there is none with that id (or it is not
 * actor's, when actor is given). *err set on a database error. */
json_t *shell_control_get(sqlite3 *db, const char *id, const char *actor, long long now_ms,
			  bool *err);
/* Asks the bridge of session id to end it: 1 asked (or already asked), 0 no such live
 * terminal (or not owner's, when owner is given), -1 error. */
int shell_control_terminate(sqlite3 *db, const char *id, const char *owner, const char *by_sub,
			    const char *by_email, long long now_ms);

/* One poll of an audit admin watching session id live: refreshes the watcher's row. 1 the
 * session is live (*joined: this poll starts a watch, none of this watcher being fresh, so
 * the caller audits it), 0 it is not live, -1 error. Call inside a write transaction. */
int shell_control_watch(sqlite3 *db, const char *id, const char *sub, const char *email,
			long long now_ms, bool *joined);
/* Forgets the watchers of sessions that are gone. The number forgotten, or -1. */
int shell_control_purge_watchers(sqlite3 *db);

/* The same on a dbx connection (either engine). */
struct dbx;
int shell_control_poll_dbx(struct dbx *db, const char *id, long long now_ms,
			   struct shell_control_state *out);
int shell_control_activity_dbx(struct dbx *db, const char *id, long long last_activity_ms);
json_t *shell_control_list_dbx(struct dbx *db, const char *actor, long long now_ms);
json_t *shell_control_get_dbx(struct dbx *db, const char *id, const char *actor, long long now_ms,
			      bool *err);
int shell_control_terminate_dbx(struct dbx *db, const char *id, const char *owner,
				const char *by_sub, const char *by_email, long long now_ms);
int shell_control_watch_dbx(struct dbx *db, const char *id, const char *sub, const char *email,
			    long long now_ms, bool *joined);
int shell_control_purge_watchers_dbx(struct dbx *db);

#endif
