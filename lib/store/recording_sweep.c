#include "store/recording_sweep.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shell/recording.h"
#include "store/dbx.h"

/* 1 when some row still names the session, 0 when none, -1 on error. A kept statement:
 * on SQLite the same one is reset for each file, as before the port. */
static int session_known(struct dbx *db, const char *id)
{
	static const char sql[] = "SELECT 1 FROM shell_sessions WHERE id = ?1 UNION ALL "
				  "SELECT 1 FROM audit_events WHERE session_id = ?1 LIMIT 1";
	struct dbx_stmt *st = NULL;
	enum dbx_step step;

	if (dbx_prepare_kept(db, sql, &st) != 0)
		return -1;
	dbx_bind_text(st, 1, id);
	step = dbx_step(st);
	dbx_finalize(st);
	return step == DBX_ROW ? 1 : step == DBX_DONE ? 0 : -1;
}

/* With several replicas the directory is shared (docs/deployment.md "N replicas"): any
 * replica's sweep may delete a recording, and each asks the one database whether a row still
 * names it, so they all agree. */
int recording_sweep_dbx(struct dbx *db, const char *dir, long long now_s)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int removed = 0;

	if (!d)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		char id[64];
		size_t n = strlen(de->d_name);
		struct stat sb;
		int known;

		if (n != 36 + 5 || strcmp(de->d_name + 36, ".cast") != 0)
			continue;
		snprintf(id, sizeof id, "%.36s", de->d_name);
		if (!recording_id_valid(id) || fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(sb.st_mode) || sb.st_mtime > now_s - RECORDING_SWEEP_GRACE_S)
			continue;
		known = session_known(db, id);
		if (known < 0)
			goto fail;
		if (known == 0 && unlinkat(dirfd(d), de->d_name, 0) == 0)
			removed++;
	}
	closedir(d);
	return removed;
fail:
	closedir(d);
	return -1;
}

int recording_sweep(sqlite3 *db, const char *dir, long long now_s)
{
	struct dbx d;

	dbx_borrow_sqlite(&d, db);
	return recording_sweep_dbx(&d, dir, now_s);
}
