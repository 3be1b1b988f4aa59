/* SQLite's placeholders in PostgreSQL's spelling: "?NNN" becomes "$NNN" and a bare "?" the
 * next number after the largest so far (SQLite's own rule), outside string literals,
 * quoted identifiers and comments. */
#ifndef PERISCOPE_DBX_SQL_H
#define PERISCOPE_DBX_SQL_H

#include <stddef.h>

/* *out is a fresh string (free it); *nparams the largest index. 0, or -1 when an index is
 * 0 or above max_params, or a literal or comment is left open. */
int dbx_translate_placeholders(const char *sql, int max_params, char **out, int *nparams);

#endif
