#include "audit_file.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/timeutil.h"

const char *audit_file_path_from_env(char *out, size_t outlen)
{
	const char *v = getenv(AUDIT_FILE_ENV);
	size_t len;

	if (!v)
		return NULL;
	while (*v == ' ' || *v == '\t')
		v++;
	len = strlen(v);
	while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t' || v[len - 1] == '\n'))
		len--;
	if (len == 0 || len >= outlen)
		return NULL;
	memcpy(out, v, len);
	out[len] = '\0';
	return out;
}

/* The pod spec may point the file into a directory the image does not have
 * (e.g. /tmp/periscope-shell/): create that one level, as the reference does. */
static int ensure_parent_dir(const char *path, char *err, size_t errlen)
{
	char copy[PATH_MAX];
	const char *dir;

	if (strlen(path) >= sizeof copy) {
		snprintf(err, errlen, "audit file path is too long");
		return -1;
	}
	strcpy(copy, path);
	dir = dirname(copy);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

int audit_file_create(const char *path, char *err, size_t errlen)
{
	int fd;

	if (ensure_parent_dir(path, err, errlen) < 0)
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			return 0;
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	if (close(fd) < 0) {
		snprintf(err, errlen, "cannot close %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Jansson refuses strings that are not UTF-8; keep the argument visible anyway. */
static json_t *json_string_lossy(const char *s)
{
	json_t *j = json_string(s);
	char *copy;

	if (j)
		return j;
	copy = strdup(s);
	if (!copy)
		return NULL;
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

char *audit_line_build(long long unix_ms, long pid, int argc, char *const argv[])
{
	char ts[40];
	json_t *line = NULL, *args = NULL;
	char *text = NULL, *out = NULL;
	size_t len;

	args = json_array();
	if (!args)
		goto done;
	for (int i = 0; i < argc; i++)
		if (json_array_append_new(args, json_string_lossy(argv[i])) < 0)
			goto done;
	format_rfc3339_ms(unix_ms, ts, sizeof ts);
	/* "o" steals args, so it must not be decref'd below once packed. */
	line = json_pack("{s:s, s:I, s:o}", "ts", ts, "pid", (json_int_t)pid, "argv", args);
	args = NULL;
	if (!line)
		goto done;
	text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!text)
		goto done;
	len = strlen(text);
	out = malloc(len + 2);
	if (!out)
		goto done;
	memcpy(out, text, len);
	out[len] = '\n';
	out[len + 1] = '\0';
done:
	free(text);
	json_decref(line);
	json_decref(args);
	return out;
}

int audit_file_append(const char *path, int argc, char *const argv[], char *err, size_t errlen)
{
	char *line = NULL;
	size_t len;
	ssize_t n;
	int fd = -1, rc = -1;

	line = audit_line_build(now_ms(), (long)getpid(), argc, argv);
	if (!line) {
		snprintf(err, errlen, "cannot encode the audit line");
		goto out;
	}
	if (ensure_parent_dir(path, err, errlen) < 0)
		goto out;
	/* O_CLOEXEC: the descriptor must not leak into the real kubectl we exec next. */
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		goto out;
	}
	len = strlen(line);
	n = write(fd, line, len);
	if (n < 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	if ((size_t)n != len) {
		snprintf(err, errlen, "short write to %s", path);
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0 && close(fd) < 0 && rc == 0) {
		snprintf(err, errlen, "cannot close %s: %s", path, strerror(errno));
		rc = -1;
	}
	free(line);
	return rc;
}
