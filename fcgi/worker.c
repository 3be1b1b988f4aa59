#include <stdio.h>
#include <string.h>

#include "app.h"
#include "store/db.h"

int worker_init(struct worker *w, const struct config *cfg, char *err, size_t errlen)
{
	memset(w, 0, sizeof *w);
	w->cfg = cfg;
	if (db_open(cfg->audit.db_path, &w->db, err, errlen) != 0)
		return -1;
	w->auth.cfg = cfg;
	w->auth.db = w->db;
	w->auth.provider = &w->provider;
	w->auth.tally = &w->tally;
	return 0;
}

void worker_cleanup(struct worker *w)
{
	oidc_provider_free(w->provider);
	db_close(w->db);
	memset(w, 0, sizeof *w);
}
