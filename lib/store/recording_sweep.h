/* Recordings go with their audit rows: a recording whose session has neither a live row
 * (shell_sessions) nor any audit row left (retention deleted its close row, and so every
 * older row of it) is deleted. Run after each retention pass (fcgi/maintenance.c). */
#ifndef PERISCOPE_RECORDING_SWEEP_H
#define PERISCOPE_RECORDING_SWEEP_H

#include <sqlite3.h>

/* A file this young is kept whatever the rows say: its bridge may be admitting it. */
#define RECORDING_SWEEP_GRACE_S 60

/* Deletes the orphaned <session id>.cast files of dir. The number deleted, or -1 (the
 * database did not answer; nothing more is deleted). A missing dir is no recording. */
int recording_sweep(sqlite3 *db, const char *dir, long long now_s);
struct dbx;
int recording_sweep_dbx(struct dbx *db, const char *dir, long long now_s);

#endif
