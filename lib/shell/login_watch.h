/* A terminal lives no longer than the login session it was opened under. Every few seconds
 * the bridge re-reads that session (one indexed SELECT, nothing unsealed) and ends the
 * terminal, with a closed.reason that says why (docs/frames.md), when:
 *   - the session ended: "signed_out" (sign-out, sign-out everywhere) or "session_expired"
 *     (idle or absolute timeout, or the IdP refused a refresh), as login_session_ends says;
 *   - its clocks say it is over (the same timeouts the API applies): "session_expired";
 *   - after a refresh, its groups give a tier that may not open this shell ("forbidden") or
 *     a lower tier than the terminal was opened with ("tier_changed": the terminal holds the
 *     old tier's rights).
 * The tokens are unsealed only when the access token is due for a refresh, which the bridge
 * then runs itself (auth_refresh_due), so a tier change reaches a terminal even when the
 * user makes no API request. Keystrokes count as activity of the login session. */
#ifndef PERISCOPE_LOGIN_WATCH_H
#define PERISCOPE_LOGIN_WATCH_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "auth/auth.h"
#include "config/config.h"
#include "shell/shell_gates.h"
#include "store/session_store.h"

#define LOGIN_WATCH_PERIOD_MS 3000
/* A refresh that failed while the access token still works is retried this much later;
 * so is one whose new access token is due again at once (tokens shorter than refreshBefore). */
#define LOGIN_WATCH_REFRESH_RETRY_S 20

#define LOGIN_CLOSE_FORBIDDEN "forbidden"
#define LOGIN_CLOSE_TIER_CHANGED "tier_changed"

struct login_watch {
	const struct config *cfg;
	struct dbx *db;                   /* the bridge's connection (either engine) */
	struct auth_ctx *auth;
	const char *cookie;               /* the session cookie (a secret; borrowed) */
	const struct shell_target *target;
	char id_hash[SESSION_ID_HASH_LEN + 1];
	enum tier opened_tier;
	long long next_check_ms;          /* monotonic */
	long long next_refresh_s;         /* unix seconds: no refresh attempt before */
	bool typed;                       /* the user typed since the last check */
};

/* What the terminal makes of its session's state at now (unix seconds): NULL when it goes
 * on, else the closed.reason. *refresh_due is set when the access token should be refreshed
 * first (the verdict may change with the fresh groups). */
const char *login_watch_judge(const struct config *cfg, const struct shell_target *t,
			      enum tier opened_tier, enum session_lookup found,
			      const struct login_status *st, long long now, bool *refresh_due);

/* Due for a check at now_ms (monotonic)? */
bool login_watch_due(const struct login_watch *w, long long now_ms);
/* The check: 0 the terminal goes on, 1 it must end with reason (a closed.reason). A check
 * that cannot read the database keeps the terminal (logged) and tries again next period. */
int login_watch_check(struct login_watch *w, long long now_ms, long long now_s, char *reason,
		      size_t reasonlen);

#endif
