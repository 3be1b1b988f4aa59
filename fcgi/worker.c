#include <stdio.h>
#include <string.h>

#include "app.h"
#include "store/dbx_config.h"

int worker_init(struct worker *w, const struct config *cfg, char *err, size_t errlen)
{
	memset(w, 0, sizeof *w);
	w->cfg = cfg;
	if (dbx_open_configured(cfg, &w->dbx, err, errlen) != 0)
		return -1;
	w->db = w->dbx->lite;
	w->auth.cfg = cfg;
	w->auth.db = w->dbx;
	w->auth.provider = &w->provider;
	w->auth.tally = &w->tally;
	return 0;
}

void worker_cleanup(struct worker *w)
{
	oidc_provider_free(w->provider);
	dbx_close(w->dbx);
	memset(w, 0, sizeof *w);
}
