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

#endif
