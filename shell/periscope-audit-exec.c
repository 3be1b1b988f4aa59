/* periscope-audit-exec: the wrapper behind /usr/local/bin/kubectl and /usr/local/bin/helm in
 * the cluster-shell pod. It finds out which tool it stands for from its own name
 * (basename of argv[0]), appends one {"ts","pid","argv"} line to the session's command log,
 * then execs the real binary <PERISCOPE_REAL_BIN_DIR>/<name>-real with the same argv.
 *
 * Exit status: that of the real tool (exec keeps the pid and the exit code); 127 for a
 * name not on the allow-list; 126 when the real binary cannot be executed. The command log
 * is best-effort: a failure to write it is reported on stderr and the command still runs. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit_file.h"

#define PROG "periscope-audit-exec"
#define REAL_BIN_DIR_ENV "PERISCOPE_REAL_BIN_DIR"
#define REAL_BIN_DIR_DEFAULT "/opt/periscope/bin"

/* Adding a wrapped tool is one entry here (kept sorted: the error message lists them)
 * plus a symlink in shell/Dockerfile.shell. */
static const char *const wrapped_commands[] = { "helm", "kubectl" };

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!*path)
		return ".";
	return slash ? slash + 1 : path;
}

static int is_wrapped(const char *name)
{
	for (size_t i = 0; i < sizeof wrapped_commands / sizeof wrapped_commands[0]; i++)
		if (strcmp(name, wrapped_commands[i]) == 0)
			return 1;
	return 0;
}

static void report_unknown(const char *name)
{
	fprintf(stderr, PROG ": unknown wrapped command \"%s\" (allow-list: ", name);
	for (size_t i = 0; i < sizeof wrapped_commands / sizeof wrapped_commands[0]; i++)
		fprintf(stderr, "%s%s", i ? ", " : "", wrapped_commands[i]);
	fprintf(stderr, ")\n");
}

static void append_audit_line(int argc, char *argv[])
{
	char path[PATH_MAX], err[512];

	/* No configured log (not inside a session pod): nothing to record, say nothing. */
	if (!audit_file_path_from_env(path, sizeof path))
		return;
	if (audit_file_append(path, argc, argv, err, sizeof err) < 0)
		fprintf(stderr, PROG ": audit append failed (continuing): %s\n", err);
}

int main(int argc, char *argv[])
{
	const char *name = base_name(argc > 0 && argv[0] ? argv[0] : "");
	const char *dir = getenv(REAL_BIN_DIR_ENV);
	char real[PATH_MAX];
	int n;

	if (!is_wrapped(name)) {
		report_unknown(name);
		return 127;
	}
	if (!dir || !*dir)
		dir = REAL_BIN_DIR_DEFAULT;
	n = snprintf(real, sizeof real, "%s/%s-real", dir, name);
	if (n < 0 || (size_t)n >= sizeof real) {
		fprintf(stderr, PROG ": %s is too long\n", REAL_BIN_DIR_ENV);
		return 126;
	}
	append_audit_line(argc, argv);
	/* argv[0] stays the name the user typed, so the tool's own messages read naturally. */
	execv(real, argv);
	fprintf(stderr, PROG ": exec %s failed: %s\n", real, strerror(errno));
	return 126;
}
