#include "store/dbx_config.h"

#include <stdio.h>
#include <stdlib.h>

int dbx_open_configured(const struct config *cfg, struct dbx **out, char *err, size_t errlen)
{
	char *url = NULL;
	int rc;

	*out = NULL;
	if (cfg->database.engine == DATABASE_POSTGRES)
		return dbx_open(cfg->database.url, cfg->database.password, out, err, errlen);
	/* database.url and audit.dbPath agree (config_database.c): the path is the file. */
	if (asprintf(&url, "sqlite:%s", cfg->audit.db_path) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc = dbx_open(url, NULL, out, err, errlen);
	free(url);
	return rc;
}
