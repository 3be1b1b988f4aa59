/* The in-pod programs, run for real: the kubectl/helm audit wrapper (through symlinks named
 * like the tools, as in the image) and the entrypoint (with a stand-in bash that reports
 * what it was given). Each test works in its own temporary directory. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit_file.h"
#include "core/timeutil.h"
#include "unit.h"

#define WRAPPER SHELL_BUILDDIR "/periscope-audit-exec"
#define ENTRYPOINT SHELL_BUILDDIR "/periscope-shell"
#define MAX_ENV 16

struct sandbox {
	char dir[PATH_MAX];
	char *env[MAX_ENV + 1];
	int nenv;
};

static void sandbox_init(struct sandbox *sb)
{
	const char *tmp = getenv("TMPDIR");

	memset(sb, 0, sizeof *sb);
	snprintf(sb->dir, sizeof sb->dir, "%s/periscope-shell-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(sb->dir));
}

static void sandbox_free(struct sandbox *sb)
{
	char cmd[PATH_MAX + 16];

	for (int i = 0; i < sb->nenv; i++)
		free(sb->env[i]);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", sb->dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Path of name inside the sandbox, into out (PATH_MAX bytes). */
static char *sb_path(const struct sandbox *sb, const char *name, char *out)
{
	ck_assert_int_lt(snprintf(out, PATH_MAX, "%s/%s", sb->dir, name), PATH_MAX);
	return out;
}

static void sb_setenv(struct sandbox *sb, const char *name, const char *value)
{
	ck_assert_int_lt(sb->nenv, MAX_ENV);
	ck_assert_int_ne(asprintf(&sb->env[sb->nenv++], "%s=%s", name, value), -1);
}

static void sb_mkdir(const struct sandbox *sb, const char *name)
{
	char p[PATH_MAX];

	ck_assert_int_eq(mkdir(sb_path(sb, name, p), 0755), 0);
}

static void sb_write(const struct sandbox *sb, const char *name, const char *text, mode_t mode)
{
	char p[PATH_MAX];
	FILE *f = fopen(sb_path(sb, name, p), "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(p, mode), 0);
}

static void sb_symlink(const struct sandbox *sb, const char *target, const char *name)
{
	char p[PATH_MAX];

	ck_assert_int_eq(symlink(target, sb_path(sb, name, p)), 0);
}

/* Whole file into a malloc'd string, or NULL when it does not exist. */
static char *sb_read_maybe(const struct sandbox *sb, const char *name)
{
	char p[PATH_MAX];
	FILE *f = fopen(sb_path(sb, name, p), "r");
	char *text = NULL;
	size_t len = 0;
	FILE *mem;
	int c;

	if (!f)
		return NULL;
	mem = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(mem);
	while ((c = fgetc(f)) != EOF)
		fputc(c, mem);
	fclose(f);
	ck_assert_int_eq(fclose(mem), 0);
	return text;
}

/* A file the test expects to exist: its absence ends the test. */
static char *sb_read(const struct sandbox *sb, const char *name)
{
	return unit_nonnull(sb_read_maybe(sb, name));
}

/* Runs prog with argv and only the sandbox environment; stdout and stderr go to files
 * "stdout" and "stderr" in the sandbox. Returns the exit status; *pid_out gets the pid. */
static int sb_run(struct sandbox *sb, const char *prog, char *const argv[], pid_t *pid_out)
{
	char out[PATH_MAX], err[PATH_MAX];
	int status;
	pid_t pid;

	sb_path(sb, "stdout", out);
	sb_path(sb, "stderr", err);
	sb->env[sb->nenv] = NULL;
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(99);
		execve(prog, argv, sb->env);
		_exit(98);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	if (pid_out)
		*pid_out = pid;
	return WEXITSTATUS(status);
}

/* A "real" tool that records its argv, one per line, in the file named by $ARGS_OUT. */
static const char recording_tool[] =
	"#!/bin/sh\n"
	"printf '%s\\n' \"$0\" \"$@\" > \"$ARGS_OUT\"\n"
	"exit ${TOOL_EXIT:-0}\n";

/* The usual layout: bin/kubectl and bin/helm -> wrapper, real/{kubectl,helm}-real. */
static void setup_wrapped_tools(struct sandbox *sb)
{
	char p[PATH_MAX];

	sb_mkdir(sb, "bin");
	sb_mkdir(sb, "real");
	sb_symlink(sb, WRAPPER, "bin/kubectl");
	sb_symlink(sb, WRAPPER, "bin/helm");
	sb_write(sb, "real/kubectl-real", recording_tool, 0755);
	sb_write(sb, "real/helm-real", recording_tool, 0755);
	sb_setenv(sb, "PATH", "/usr/bin:/bin");
	sb_setenv(sb, "PERISCOPE_REAL_BIN_DIR", sb_path(sb, "real", p));
	sb_setenv(sb, "ARGS_OUT", sb_path(sb, "args", p));
}

/* Parses the audit file's lines; fails the test on any line that is not a JSON object. */
static json_t *read_audit_lines(const struct sandbox *sb, const char *name)
{
	char *text = sb_read(sb, name);
	json_t *lines = json_array();
	char *save = NULL;

	ck_assert_ptr_nonnull(text);
	ck_assert_msg(strlen(text) > 0 && text[strlen(text) - 1] == '\n', "audit file ends a line");
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		json_error_t jerr;
		json_t *obj = json_loads(l, 0, &jerr);
		ck_assert_msg(json_is_object(obj), "audit line is JSON: %s (%s)", l, jerr.text);
		json_array_append_new(lines, obj);
	}
	free(text);
	return lines;
}

static void assert_argv(json_t *line, const char *const expected[], size_t n)
{
	json_t *argv = json_object_get(line, "argv");

	ck_assert(json_is_array(argv));
	ck_assert_uint_eq(json_array_size(argv), n);
	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(json_string_value(json_array_get(argv, i)), expected[i]);
}

START_TEST(wrapper_logs_argv_and_passes_the_exit_code_through)
{
	struct sandbox sb;
	char kubectl[PATH_MAX], audit[PATH_MAX];
	long long ts_ns;
	pid_t pid;
	json_t *lines, *line;
	char *args;

	sandbox_init(&sb);
	setup_wrapped_tools(&sb);
	sb_setenv(&sb, AUDIT_FILE_ENV, sb_path(&sb, "audit.jsonl", audit));
	sb_setenv(&sb, "TOOL_EXIT", "7");
	sb_path(&sb, "bin/kubectl", kubectl);
	{
		char *const argv[] = { kubectl, "get", "pods", "-n", "two words", NULL };
		ck_assert_int_eq(sb_run(&sb, kubectl, argv, &pid), 7);
		const char *expected[] = { kubectl, "get", "pods", "-n", "two words" };
		lines = read_audit_lines(&sb, "audit.jsonl");
		ck_assert_uint_eq(json_array_size(lines), 1);
		line = json_array_get(lines, 0);
		assert_argv(line, expected, 5);
	}
	/* exec keeps the pid: the line names the process that ran the real kubectl. */
	ck_assert_int_eq(json_integer_value(json_object_get(line, "pid")), pid);
	ck_assert_int_eq(parse_rfc3339_ns(json_string_value(json_object_get(line, "ts")), &ts_ns), 0);
	ck_assert_msg(strlen(json_string_value(json_object_get(line, "ts"))) == 24,
		      "ts is RFC 3339 UTC with milliseconds");
	/* The real kubectl ran with the same arguments ($0 of a script is its own path). */
	args = sb_read(&sb, "args");
	ck_assert_ptr_nonnull(args);
	ck_assert_ptr_nonnull(strstr(args, "/real/kubectl-real\nget\npods\n-n\ntwo words\n"));
	free(args);
	json_decref(lines);
	sandbox_free(&sb);
}
END_TEST

START_TEST(wrapper_appends_one_line_per_call_for_each_tool)
{
	struct sandbox sb;
	char kubectl[PATH_MAX], helm[PATH_MAX], audit[PATH_MAX];
	char *args;
	json_t *lines;
	struct stat st;

	sandbox_init(&sb);
	setup_wrapped_tools(&sb);
	/* The directory of the log does not exist yet: the wrapper creates it. */
	sb_setenv(&sb, AUDIT_FILE_ENV, sb_path(&sb, "session/audit.jsonl", audit));
	sb_path(&sb, "bin/kubectl", kubectl);
	sb_path(&sb, "bin/helm", helm);
	{
		char *const a1[] = { kubectl, "version", NULL };
		char *const a2[] = { helm, "list", "-A", NULL };
		const char *e1[] = { kubectl, "version" };
		const char *e2[] = { helm, "list", "-A" };
		ck_assert_int_eq(sb_run(&sb, kubectl, a1, NULL), 0);
		ck_assert_int_eq(sb_run(&sb, helm, a2, NULL), 0);
		lines = read_audit_lines(&sb, "session/audit.jsonl");
		ck_assert_uint_eq(json_array_size(lines), 2);
		assert_argv(json_array_get(lines, 0), e1, 2);
		assert_argv(json_array_get(lines, 1), e2, 3);
	}
	/* helm went to helm-real. */
	args = sb_read(&sb, "args");
	ck_assert_ptr_nonnull(strstr(args, "\nlist\n-A\n"));
	free(args);
	ck_assert_int_eq(stat(audit, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	json_decref(lines);
	sandbox_free(&sb);
}
END_TEST

START_TEST(wrapper_refuses_a_name_not_on_the_allow_list)
{
	struct sandbox sb;
	char tool[PATH_MAX], audit[PATH_MAX];
	char *err;

	sandbox_init(&sb);
	setup_wrapped_tools(&sb);
	sb_symlink(&sb, WRAPPER, "bin/kustomize");
	sb_write(&sb, "real/kustomize-real", recording_tool, 0755);
	sb_setenv(&sb, AUDIT_FILE_ENV, sb_path(&sb, "audit.jsonl", audit));
	sb_path(&sb, "bin/kustomize", tool);
	{
		char *const argv[] = { tool, "build", NULL };
		ck_assert_int_eq(sb_run(&sb, tool, argv, NULL), 127);
	}
	err = sb_read(&sb, "stderr");
	ck_assert_ptr_nonnull(strstr(err, "unknown wrapped command \"kustomize\" (allow-list: helm, kubectl)"));
	free(err);
	/* Nothing ran and nothing was logged. */
	ck_assert_ptr_null(sb_read_maybe(&sb, "args"));
	ck_assert_int_eq(access(audit, F_OK), -1);
	/* Called by its own name, the wrapper is not a tool either. */
	{
		char *const argv[] = { WRAPPER, NULL };
		ck_assert_int_eq(sb_run(&sb, WRAPPER, argv, NULL), 127);
	}
	sandbox_free(&sb);
}
END_TEST

START_TEST(wrapper_exits_126_when_the_real_binary_cannot_run)
{
	struct sandbox sb;
	char kubectl[PATH_MAX], helm[PATH_MAX];
	char *err;

	sandbox_init(&sb);
	setup_wrapped_tools(&sb);
	sb_path(&sb, "bin/kubectl", kubectl);
	sb_path(&sb, "bin/helm", helm);
	/* Not executable (even root cannot exec a file without any x bit). */
	sb_write(&sb, "real/kubectl-real", recording_tool, 0644);
	{
		char *const argv[] = { kubectl, "get", "pods", NULL };
		ck_assert_int_eq(sb_run(&sb, kubectl, argv, NULL), 126);
	}
	err = sb_read(&sb, "stderr");
	ck_assert_ptr_nonnull(strstr(err, "kubectl-real failed"));
	free(err);
	/* Missing altogether. */
	ck_assert_int_eq(unlink(sb_path(&sb, "real/helm-real", helm)), 0);
	sb_path(&sb, "bin/helm", helm);
	{
		char *const argv[] = { helm, "list", NULL };
		ck_assert_int_eq(sb_run(&sb, helm, argv, NULL), 126);
	}
	err = sb_read(&sb, "stderr");
	ck_assert_ptr_nonnull(strstr(err, "No such file or directory"));
	free(err);
	sandbox_free(&sb);
}
END_TEST

START_TEST(wrapper_runs_the_command_when_the_log_cannot_be_written)
{
	struct sandbox sb;
	char kubectl[PATH_MAX], audit[PATH_MAX];
	char *err, *args;

	sandbox_init(&sb);
	setup_wrapped_tools(&sb);
	/* Its "directory" is a regular file: no user, root included, can create it. */
	sb_write(&sb, "not-a-dir", "", 0644);
	sb_setenv(&sb, AUDIT_FILE_ENV, sb_path(&sb, "not-a-dir/audit.jsonl", audit));
	sb_setenv(&sb, "TOOL_EXIT", "3");
	sb_path(&sb, "bin/kubectl", kubectl);
	{
		char *const argv[] = { kubectl, "get", "ns", NULL };
		ck_assert_int_eq(sb_run(&sb, kubectl, argv, NULL), 3);
	}
	args = sb_read(&sb, "args");
	ck_assert_ptr_nonnull(args);
	ck_assert_ptr_nonnull(strstr(args, "\nget\nns\n"));
	err = sb_read(&sb, "stderr");
	ck_assert_ptr_nonnull(strstr(err, "audit append failed (continuing)"));
	free(args);
	free(err);
	sandbox_free(&sb);
}
END_TEST

START_TEST(wrapper_without_a_configured_log_just_runs)
{
	struct sandbox sb;
	char kubectl[PATH_MAX];
	char *err;

	sandbox_init(&sb);
	setup_wrapped_tools(&sb);
	sb_setenv(&sb, AUDIT_FILE_ENV, "   ");
	sb_path(&sb, "bin/kubectl", kubectl);
	{
		char *const argv[] = { kubectl, "version", NULL };
		ck_assert_int_eq(sb_run(&sb, kubectl, argv, NULL), 0);
	}
	err = sb_read(&sb, "stderr");
	ck_assert_str_eq(err, "");
	free(err);
	sandbox_free(&sb);
}
END_TEST

/* A stand-in bash that reports its argv and the variables the entrypoint manages. */
static const char reporting_bash[] =
	"#!/bin/sh\n"
	"printf '%s\\n' \"$*\" \"KUBECONFIG=$KUBECONFIG\" \"AUDIT=$PERISCOPE_SHELL_AUDIT_FILE\" > \"$ARGS_OUT\"\n"
	"exit 5\n";

static void setup_entrypoint(struct sandbox *sb)
{
	char p[PATH_MAX];

	sb_write(sb, "fake-bash", reporting_bash, 0755);
	sb_setenv(sb, "PATH", "/usr/bin:/bin");
	sb_setenv(sb, "PERISCOPE_SHELL_BASH", sb_path(sb, "fake-bash", p));
	sb_setenv(sb, "ARGS_OUT", sb_path(sb, "args", p));
	sb_setenv(sb, "PERISCOPE_SHELL_SESSION_ID", "0b7c9e4e-1f5e-4f7a-9d1e-6a4c2b8d9e01");
}

START_TEST(entrypoint_execs_login_bash_with_kubeconfig_and_creates_the_log)
{
	struct sandbox sb;
	char audit[PATH_MAX], expected[PATH_MAX * 2];
	struct stat st;
	char *args;

	sandbox_init(&sb);
	setup_entrypoint(&sb);
	sb_setenv(&sb, "PERISCOPE_SHELL_MODE", "bash");
	sb_setenv(&sb, AUDIT_FILE_ENV, sb_path(&sb, "logs/audit.jsonl", audit));
	{
		char *const argv[] = { ENTRYPOINT, NULL };
		/* The exit status is bash's own: the entrypoint replaced itself. */
		ck_assert_int_eq(sb_run(&sb, ENTRYPOINT, argv, NULL), 5);
	}
	args = sb_read(&sb, "args");
	snprintf(expected, sizeof expected, "--login\nKUBECONFIG=/etc/periscope/kubeconfig\nAUDIT=%s\n", audit);
	ck_assert_str_eq(args, expected);
	free(args);
	ck_assert_int_eq(stat(audit, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(st.st_size, 0);
	sandbox_free(&sb);
}
END_TEST

START_TEST(entrypoint_keeps_a_given_kubeconfig_and_an_existing_log)
{
	struct sandbox sb;
	char audit[PATH_MAX];
	char *args, *log;

	sandbox_init(&sb);
	setup_entrypoint(&sb);
	sb_setenv(&sb, "PERISCOPE_SHELL_MODE", "bash");
	sb_setenv(&sb, "KUBECONFIG", "/srv/session/kubeconfig");
	sb_write(&sb, "audit.jsonl", "{\"earlier\":true}\n", 0600);
	sb_setenv(&sb, AUDIT_FILE_ENV, sb_path(&sb, "audit.jsonl", audit));
	{
		char *const argv[] = { ENTRYPOINT, NULL };
		ck_assert_int_eq(sb_run(&sb, ENTRYPOINT, argv, NULL), 5);
	}
	args = sb_read(&sb, "args");
	ck_assert_ptr_nonnull(strstr(args, "KUBECONFIG=/srv/session/kubeconfig\n"));
	log = sb_read(&sb, "audit.jsonl");
	ck_assert_str_eq(log, "{\"earlier\":true}\n");
	free(args);
	free(log);
	sandbox_free(&sb);
}
END_TEST

START_TEST(entrypoint_defaults_the_log_path_and_exports_it)
{
	struct sandbox sb;
	char *args;

	sandbox_init(&sb);
	setup_entrypoint(&sb);
	sb_setenv(&sb, "PERISCOPE_SHELL_MODE", "bash");
	{
		char *const argv[] = { ENTRYPOINT, NULL };
		ck_assert_int_eq(sb_run(&sb, ENTRYPOINT, argv, NULL), 5);
	}
	args = sb_read(&sb, "args");
	ck_assert_ptr_nonnull(strstr(args, "AUDIT=" AUDIT_FILE_DEFAULT "\n"));
	free(args);
	sandbox_free(&sb);
}
END_TEST

START_TEST(entrypoint_starts_the_shell_even_without_a_log)
{
	struct sandbox sb;
	char audit[PATH_MAX];
	char *args, *err;

	sandbox_init(&sb);
	setup_entrypoint(&sb);
	sb_setenv(&sb, "PERISCOPE_SHELL_MODE", "bash");
	sb_write(&sb, "not-a-dir", "", 0644);
	sb_setenv(&sb, AUDIT_FILE_ENV, sb_path(&sb, "not-a-dir/audit.jsonl", audit));
	{
		char *const argv[] = { ENTRYPOINT, NULL };
		ck_assert_int_eq(sb_run(&sb, ENTRYPOINT, argv, NULL), 5);
	}
	args = sb_read(&sb, "args");
	ck_assert_ptr_nonnull(strstr(args, "--login\n"));
	err = sb_read(&sb, "stderr");
	ck_assert_ptr_nonnull(strstr(err, "command log unavailable"));
	free(args);
	free(err);
	sandbox_free(&sb);
}
END_TEST

START_TEST(entrypoint_refuses_an_unsupported_mode)
{
	struct sandbox sb;
	char *err;

	sandbox_init(&sb);
	setup_entrypoint(&sb);
	sb_setenv(&sb, "PERISCOPE_SHELL_MODE", "kubectl-only");
	{
		char *const argv[] = { ENTRYPOINT, NULL };
		ck_assert_int_eq(sb_run(&sb, ENTRYPOINT, argv, NULL), 2);
	}
	err = sb_read(&sb, "stderr");
	ck_assert_ptr_nonnull(strstr(err, "PERISCOPE_SHELL_MODE \"kubectl-only\" is not supported"));
	free(err);
	ck_assert_ptr_null(sb_read_maybe(&sb, "args"));
	sandbox_free(&sb);
}
END_TEST

START_TEST(entrypoint_refuses_a_missing_session_id)
{
	struct sandbox sb;
	char p[PATH_MAX];
	char *err;

	sandbox_init(&sb);
	sb_write(&sb, "fake-bash", reporting_bash, 0755);
	sb_setenv(&sb, "PERISCOPE_SHELL_BASH", sb_path(&sb, "fake-bash", p));
	sb_setenv(&sb, "ARGS_OUT", sb_path(&sb, "args", p));
	sb_setenv(&sb, "PERISCOPE_SHELL_MODE", "bash");
	{
		char *const argv[] = { ENTRYPOINT, NULL };
		ck_assert_int_eq(sb_run(&sb, ENTRYPOINT, argv, NULL), 2);
	}
	err = sb_read(&sb, "stderr");
	ck_assert_ptr_nonnull(strstr(err, "PERISCOPE_SHELL_SESSION_ID is not set"));
	free(err);
	ck_assert_ptr_null(sb_read_maybe(&sb, "args"));
	sandbox_free(&sb);
}
END_TEST

START_TEST(audit_line_has_ts_pid_argv_in_order)
{
	char *const argv[] = { "kubectl", "get", "pods", "-l", "app=\"x\"", NULL };
	char *line = audit_line_build(1700000000123LL, 42, 5, argv);

	ck_assert_str_eq(line, "{\"ts\":\"2023-11-14T22:13:20.123Z\",\"pid\":42,"
			       "\"argv\":[\"kubectl\",\"get\",\"pods\",\"-l\",\"app=\\\"x\\\"\"]}\n");
	free(line);
}
END_TEST

START_TEST(audit_line_keeps_arguments_that_are_not_utf8)
{
	char bad[] = { 'a', (char)0xff, 'b', '\0' };
	char *const argv[] = { "helm", bad, NULL };
	char *line = audit_line_build(0, 1, 2, argv);

	ck_assert_ptr_nonnull(line);
	ck_assert_ptr_nonnull(strstr(line, "\"argv\":[\"helm\",\"a?b\"]"));
	free(line);
}
END_TEST

static Suite *shell_suite(void)
{
	Suite *s = suite_create("shell");
	TCase *wrapper = tcase_create("audit-exec wrapper");
	TCase *entry = tcase_create("entrypoint");
	TCase *line = tcase_create("audit line");

	tcase_add_test(wrapper, wrapper_logs_argv_and_passes_the_exit_code_through);
	tcase_add_test(wrapper, wrapper_appends_one_line_per_call_for_each_tool);
	tcase_add_test(wrapper, wrapper_refuses_a_name_not_on_the_allow_list);
	tcase_add_test(wrapper, wrapper_exits_126_when_the_real_binary_cannot_run);
	tcase_add_test(wrapper, wrapper_runs_the_command_when_the_log_cannot_be_written);
	tcase_add_test(wrapper, wrapper_without_a_configured_log_just_runs);
	tcase_add_test(entry, entrypoint_execs_login_bash_with_kubeconfig_and_creates_the_log);
	tcase_add_test(entry, entrypoint_keeps_a_given_kubeconfig_and_an_existing_log);
	tcase_add_test(entry, entrypoint_defaults_the_log_path_and_exports_it);
	tcase_add_test(entry, entrypoint_starts_the_shell_even_without_a_log);
	tcase_add_test(entry, entrypoint_refuses_an_unsupported_mode);
	tcase_add_test(entry, entrypoint_refuses_a_missing_session_id);
	tcase_add_test(line, audit_line_has_ts_pid_argv_in_order);
	tcase_add_test(line, audit_line_keeps_arguments_that_are_not_utf8);
	suite_add_tcase(s, wrapper);
	suite_add_tcase(s, entry);
	suite_add_tcase(s, line);
	return s;
}

UNIT_MAIN(shell_suite)
