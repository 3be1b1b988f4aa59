/* periscope-shell: the entrypoint of the cluster-shell pod. It checks the session
 * environment the pod spec sets (PERISCOPE_SHELL_SESSION_ID, PERISCOPE_SHELL_MODE), makes
 * sure the command log exists (PERISCOPE_SHELL_AUDIT_FILE, created 0600 so only the shell
 * user can read it), points KUBECONFIG at the mounted session kubeconfig unless the spec
 * already did, and replaces itself with `bash --login`.
 *
 * Exit status 2 for a configuration it cannot honour (missing session id, unknown mode);
 * 126 when bash cannot be executed. A command log that cannot be created is only a warning:
 * losing attribution must not take the operator's shell away. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit_file.h"

#define PROG "periscope-shell"
#define KUBECONFIG_DEFAULT "/etc/periscope/kubeconfig"
#define BASH_DEFAULT "/bin/bash"

static int check_session_env(void)
{
	const char *id = getenv("PERISCOPE_SHELL_SESSION_ID");
	const char *mode = getenv("PERISCOPE_SHELL_MODE");

	if (!id || !*id) {
		fprintf(stderr, PROG ": PERISCOPE_SHELL_SESSION_ID is not set; "
				"this image is started by periscope for one session\n");
		return -1;
	}
	if (!mode || !*mode) {
		fprintf(stderr, PROG ": PERISCOPE_SHELL_MODE is not set (supported: bash)\n");
		return -1;
	}
	if (strcmp(mode, "bash") != 0) {
		fprintf(stderr, PROG ": PERISCOPE_SHELL_MODE \"%s\" is not supported by this image "
				"(supported: bash)\n", mode);
		return -1;
	}
	return 0;
}

/* Exports the effective path too, so the wrappers in this shell write to the same file. */
static int prepare_audit_file(void)
{
	char path[PATH_MAX], err[512];
	const char *p = audit_file_path_from_env(path, sizeof path);

	if (!p)
		p = AUDIT_FILE_DEFAULT;
	if (setenv(AUDIT_FILE_ENV, p, 1) < 0) {
		fprintf(stderr, PROG ": cannot set %s: %s\n", AUDIT_FILE_ENV, strerror(errno));
		return -1;
	}
	if (audit_file_create(p, err, sizeof err) < 0)
		fprintf(stderr, PROG ": warning: command log unavailable (continuing): %s\n", err);
	return 0;
}

int main(void)
{
	const char *bash = getenv("PERISCOPE_SHELL_BASH");
	const char *kubeconfig = getenv("KUBECONFIG");
	char *const bash_argv[] = { "bash", "--login", NULL };

	if (check_session_env() < 0)
		return 2;
	if (prepare_audit_file() < 0)
		return 2;
	if ((!kubeconfig || !*kubeconfig) && setenv("KUBECONFIG", KUBECONFIG_DEFAULT, 1) < 0) {
		fprintf(stderr, PROG ": cannot set KUBECONFIG: %s\n", strerror(errno));
		return 2;
	}
	if (!bash || !*bash)
		bash = BASH_DEFAULT;
	execv(bash, bash_argv);
	fprintf(stderr, PROG ": exec %s failed: %s\n", bash, strerror(errno));
	return 126;
}
