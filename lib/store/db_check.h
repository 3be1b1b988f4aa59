/* What --check-config says about database.url: the engine, whether it answers, and its
 * schema version against the newest this periscope knows. */
#ifndef PERISCOPE_DB_CHECK_H
#define PERISCOPE_DB_CHECK_H

#include <stddef.h>

#include "config/config.h"

/* Writes one line ("sqlite /var/lib/periscope/periscope.db: schema version 13 (this
 * periscope: 13)"). 0 when periscope can use the database (a SQLite file not created yet
 * counts), -1 when it cannot (unreachable, unreadable, or written by a newer periscope). */
int db_check(const struct config *cfg, char *line, size_t len);

/* Until the stores speak PostgreSQL (issue 15, docs/HACKING.md "Storage engines"), the
 * serving processes refuse a postgres database.url instead of silently using SQLite.
 * 0, or -1 with the reason in err. */
int db_engine_servable(const struct config *cfg, char *err, size_t errlen);

#endif
