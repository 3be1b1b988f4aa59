/* The connection a serving process opens from its configuration: database.url (the
 * SQLite file of audit.dbPath by default, or PostgreSQL) with database.password. */
#ifndef PERISCOPE_DBX_CONFIG_H
#define PERISCOPE_DBX_CONFIG_H

#include <stddef.h>

#include "config/config.h"
#include "store/dbx.h"

/* Opens (and migrates) the configured database: "sqlite:" + audit.dbPath, or the
 * PostgreSQL connection string with its password. 0, or -1 with the reason in err (never
 * the password). Free with dbx_close. */
int dbx_open_configured(const struct config *cfg, struct dbx **out, char *err, size_t errlen);

#endif
