/* Sign-out. /api/auth/logout ends this browser's session; /api/auth/logout/everywhere ends
 * every session of the user here and, when the IdP offers it, at the IdP too
 * (RP-initiated logout with the id_token as hint). */
#include <stdlib.h>
#include <string.h>

#include "store/audit.h"
#include "handlers.h"
#include "router.h"
#include "store/session_store.h"
#include "core/timeutil.h"

#define SIGNED_OUT "/?signedOut=1"

static void sign_out(struct request *rq, bool everywhere)
{
	const struct config *cfg = rq->w->cfg;
	char *cookie = cookie_value(rq->cookie_header, cfg->session.cookie_name);
	struct login_session s;
	char err[256];
	char *end_session = NULL;
	bool had_session = false;

	if (cookie && session_store_load(rq->w->db, cookie, &s, err, sizeof err) == SESSION_FOUND) {
		had_session = true;
		if (identity_fill(cfg, s.subject, s.email, s.groups_json, &rq->identity) == 0)
			rq->authenticated = true;
		if (everywhere) {
			struct oidc_provider *p;
			session_store_delete_subject(rq->w->db, s.subject);
			if (s.tokens.id_token &&
			    auth_provider(&rq->w->auth, &p, err, sizeof err) == 0)
				end_session = oidc_end_session_url(p, s.tokens.id_token,
								   cfg->oidc.post_logout_redirect);
		} else {
			session_store_delete(rq->w->db, s.id_hash);
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
	respond_redirect(rq, end_session ? end_session : SIGNED_OUT);
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
