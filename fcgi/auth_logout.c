/* Sign-out. POST /api/auth/logout ends this browser's session; POST
 * /api/auth/logout/everywhere ends every session of the user here and, when the IdP offers
 * it, at the IdP too (RP-initiated logout with the id_token as hint). Every terminal opened
 * under an ended session closes within seconds with reason "signed_out".
 *
 * Only a POST from one of our own pages signs out: a GET is 405, and a request another web
 * site made (its Origin, or Sec-Fetch-Site) is refused before anything changes, cookie
 * included, so no other page can sign a user out. */
#include <stdlib.h>
#include <string.h>

#include "auth/origin.h"
#include "store/audit.h"
#include "handlers.h"
#include "router.h"
#include "store/session_store.h"
#include "core/timeutil.h"

#define SIGNED_OUT "/?signedOut=1"

static void sign_out(struct request *rq, bool everywhere)
{
	const struct config *cfg = rq->w->cfg;
	char *cookie = NULL;
	struct login_session s;
	char err[256];
	char *end_session = NULL;
	bool had_session = false;
	long long now = now_ms() / 1000;

	if (!request_from_our_pages(cfg, request_env(rq, "HTTP_ORIGIN"),
				    request_env(rq, "HTTP_SEC_FETCH_SITE"))) {
		respond_error(rq, 403, "E_ORIGIN", "sign-out must come from periscope's own pages", NULL);
		return;
	}
	cookie = cookie_value(rq->cookie_header, cfg->session.cookie_name);
	if (cookie && session_store_load_dbx(rq->w->dbx, cookie, &s, err, sizeof err) == SESSION_FOUND) {
		had_session = true;
		if (identity_fill(cfg, s.subject, s.email, s.groups_json, &rq->identity) == 0)
			rq->authenticated = true;
		if (everywhere) {
			struct oidc_provider *p;
			session_store_end_subject_dbx(rq->w->dbx, s.subject, SESSION_END_SIGNED_OUT, now);
			if (s.tokens.id_token &&
			    auth_provider(&rq->w->auth, &p, err, sizeof err) == 0)
				end_session = oidc_end_session_url(p, s.tokens.id_token,
								   cfg->oidc.post_logout_redirect);
		} else {
			session_store_end_dbx(rq->w->dbx, s.id_hash, SESSION_END_SIGNED_OUT, now);
		}
		login_session_clear(&s);
	}
	set_cookie(rq, cfg->session.cookie_name, "", "/", -1);
	if (had_session) {
		struct audit_event ev = { .verb = "logout", .outcome = "success" };
		json_t *extra = json_pack("{s:s}", "scope", everywhere ? "everywhere" : "local");
		ev.extra = extra;
		audit_request_event(rq, &ev);
		json_decref(extra);
	}
	/* 303: the browser follows a POST's answer with a GET. */
	respond_see_other(rq, end_session ? end_session : SIGNED_OUT);
	if (cookie)
		explicit_bzero(cookie, strlen(cookie));
	free(cookie);
	free(end_session);
}

void handle_auth_logout(struct request *rq)
{
	sign_out(rq, false);
}

void handle_auth_logout_everywhere(struct request *rq)
{
	sign_out(rq, true);
}
