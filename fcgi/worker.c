#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "store/db.h"

int worker_init(struct worker *w, const struct config *cfg, char *err, size_t errlen)
{
	memset(w, 0, sizeof *w);
	w->cfg = cfg;
	if (db_open(cfg->audit.db_path, &w->db, err, errlen) != 0)
		return -1;
	/* The ported stores speak through dbx.h: the same SQLite connection, borrowed. */
	w->dbx = calloc(1, sizeof *w->dbx);
	if (!w->dbx) {
		snprintf(err, errlen, "out of memory");
		db_close(w->db);
		w->db = NULL;
		return -1;
	}
	dbx_borrow_sqlite(w->dbx, w->db);
	w->auth.cfg = cfg;
	w->auth.db = w->db;
	w->auth.provider = &w->provider;
	w->auth.tally = &w->tally;
	return 0;
}

void worker_cleanup(struct worker *w)
{
	oidc_provider_free(w->provider);
	free(w->dbx); /* borrowed: the handle is closed below */
	db_close(w->db);
	memset(w, 0, sizeof *w);
}
