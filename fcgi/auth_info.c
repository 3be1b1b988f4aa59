#include "config/config.h"
#include "handlers.h"

void handle_auth_config(struct request *rq)
{
	const struct config *cfg = rq->w->cfg;

	respond_json(rq, 200, json_pack("{s:s, s:s, s:s}", "authMode", "oidc", "providerName",
					cfg->oidc.provider_name, "authzMode",
					authz_mode_name(cfg->authz.mode)));
}

void handle_auth_whoami(struct request *rq)
{
	const struct config *cfg = rq->w->cfg;
	const struct identity *id = &rq->identity;
	json_t *body = json_pack("{s:s, s:s?, s:O, s:s, s:s, s:b, s:s, s:I}", "subject", id->subject,
				 "email", id->email, "groups", id->groups, "mode", "oidc",
				 "authzMode", authz_mode_name(cfg->authz.mode), "auditEnabled", 1,
				 "auditScope", id->audit_admin ? "all" : "self", "expiresAt",
				 (json_int_t)id->expires_at);

	if (body && id->tier != TIER_NONE)
		json_object_set_new(body, "tier", json_string(tier_name(id->tier)));
	respond_json(rq, 200, body);
}
