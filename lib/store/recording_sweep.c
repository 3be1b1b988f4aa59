#include "store/recording_sweep.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shell/recording.h"

/* 1 when some row still names the session, 0 when none, -1 on error. */
static int session_known(sqlite3_stmt *st, const char *id)
{
	int rc;

	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int recording_sweep(sqlite3 *db, const char *dir, long long now_s)
{
	static const char sql[] = "SELECT 1 FROM shell_sessions WHERE id = ?1 UNION ALL "
				  "SELECT 1 FROM audit_events WHERE session_id = ?1 LIMIT 1";
	sqlite3_stmt *st = NULL;
	struct dirent *de;
	DIR *d = opendir(dir);
	int removed = 0;

	if (!d)
		return errno == ENOENT ? 0 : -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		goto fail;
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
		known = session_known(st, id);
		if (known < 0)
			goto fail;
		if (known == 0 && unlinkat(dirfd(d), de->d_name, 0) == 0)
			removed++;
	}
	sqlite3_finalize(st);
	closedir(d);
	return removed;
fail:
	sqlite3_finalize(st);
	closedir(d);
	return -1;
}
