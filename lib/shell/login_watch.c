#include "shell/login_watch.h"

#include <stdio.h>
#include <string.h>

#include "auth/authz.h"
#include "core/log.h"

const char *login_watch_judge(const struct config *cfg, const struct shell_target *t,
			      enum tier opened_tier, enum session_lookup found,
			      const struct login_status *st, long long now, bool *refresh_due)
{
	const struct string_list *tiers =
		t->kind == SHELL_CLUSTER ? &cfg->cluster_shell.tiers : &cfg->node_shell.tiers;
	json_t *groups;
	enum tier tier;

	*refresh_due = false;
	if (found == SESSION_MISSING)
		/* No record (kept a day) means it ended long ago: it expired, as far as we know. */
		return st->end_reason[0] ? st->end_reason : SESSION_END_EXPIRED;
	if (st->absolute_expires_at <= now || st->last_seen_at + cfg->session.idle_timeout_s <= now)
		return SESSION_END_EXPIRED;
	groups = json_loads(st->groups_json, 0, NULL);
	tier = json_is_array(groups) ? authz_resolve_tier(&cfg->authz, groups) : TIER_NONE;
	json_decref(groups);
	if (!authz_tier_may_open(&cfg->authz, tiers, tier))
		return LOGIN_CLOSE_FORBIDDEN;
	if (tier < opened_tier)
		return LOGIN_CLOSE_TIER_CHANGED;
	*refresh_due = st->access_expires_at != 0 &&
		       st->access_expires_at - now <= cfg->session.refresh_before_s;
	return NULL;
}

bool login_watch_due(const struct login_watch *w, long long now_ms)
{
	return now_ms >= w->next_check_ms;
}

/* Reads and judges the session once. -1 when the database did not answer. */
static int judge_now(struct login_watch *w, long long now_s, const char **verdict,
		     bool *refresh_due, char *reason, size_t reasonlen)
{
	struct login_status st;
	enum session_lookup found = session_store_status_dbx(w->db, w->id_hash, &st);

	if (found == SESSION_ERROR)
		return -1;
	if (found == SESSION_FOUND && w->typed) {
		auth_note_activity(w->auth, w->id_hash, st.last_seen_at, now_s);
		st.last_seen_at = now_s;
		w->typed = false;
	}
	*verdict = login_watch_judge(w->cfg, w->target, w->opened_tier, found, &st, now_s, refresh_due);
	if (*verdict)
		snprintf(reason, reasonlen, "%s", *verdict); /* it may point into st */
	login_status_clear(&st);
	return 0;
}

int login_watch_check(struct login_watch *w, long long now_ms, long long now_s, char *reason,
		      size_t reasonlen)
{
	const char *verdict = NULL;
	bool refresh_due = false;
	char err[256];

	w->next_check_ms = now_ms + LOGIN_WATCH_PERIOD_MS;
	if (judge_now(w, now_s, &verdict, &refresh_due, reason, reasonlen) != 0)
		goto db_failed;
	if (verdict)
		return 1;
	if (!refresh_due || now_s < w->next_refresh_s)
		return 0;
	/* The one time the tokens are unsealed: the refresh brings the IdP's current groups.
	 * Only a failed refresh waits LOGIN_WATCH_REFRESH_RETRY_S for the next try: after one
	 * that worked, the next is due when the new access token is (another bridge of the
	 * same sign-in may refresh first, and its fresh groups then count here too). Pushing
	 * every refresh 20 s away left a lost tier unseen for up to 20 s with short tokens. */
	if (auth_refresh_due(w->auth, w->cookie, now_s, err, sizeof err) == AUTH_ERROR) {
		w->next_refresh_s = now_s + LOGIN_WATCH_REFRESH_RETRY_S;
		log_json(LOG_WARN, "wsbridge", "session refresh failed", json_pack("{s:s}", "error", err));
	}
	if (judge_now(w, now_s, &verdict, &refresh_due, reason, reasonlen) != 0)
		goto db_failed;
	/* Still due right after a refresh: the IdP's tokens live no longer than refreshBefore,
	 * and refreshing at every check would only ask it again every few seconds. */
	if (refresh_due && w->next_refresh_s <= now_s)
		w->next_refresh_s = now_s + LOGIN_WATCH_REFRESH_RETRY_S;
	return verdict ? 1 : 0;
db_failed:
	log_json(LOG_WARN, "wsbridge", "cannot re-check the login session",
		 json_pack("{s:s}", "error", dbx_errmsg(w->db)));
	return 0;
}
