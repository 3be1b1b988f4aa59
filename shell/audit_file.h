/* The in-pod command log: one JSON line {"ts","pid","argv"} per wrapped kubectl/helm call,
 * appended to the file named by PERISCOPE_SHELL_AUDIT_FILE. Periscope reads it back with a
 * `cat` exec at teardown and puts it in the cluster_shell_close audit row.
 *
 * Best-effort by contract: callers warn on failure and carry on, never block the command. */
#ifndef PERISCOPE_SHELL_AUDIT_FILE_H
#define PERISCOPE_SHELL_AUDIT_FILE_H

#include <stddef.h>

#define AUDIT_FILE_ENV "PERISCOPE_SHELL_AUDIT_FILE"
#define AUDIT_FILE_DEFAULT "/tmp/periscope-audit.jsonl"

/* The configured path with surrounding blanks trimmed, copied into out; NULL when the
 * variable is unset, blank, or longer than outlen (the caller decides on a default). */
const char *audit_file_path_from_env(char *out, size_t outlen);

/* Creates the file with mode 0600 (and its parent directory, 0755, if missing) unless it
 * already exists. Returns 0 or -1 with a message in err. */
int audit_file_create(const char *path, char *err, size_t errlen);

/* Builds {"ts":"<RFC 3339 UTC, ms>","pid":<getpid()>,"argv":[...]}\n into a malloc'd
 * string (free() it), or NULL when out of memory. Arguments that are not valid UTF-8 are
 * recorded with the offending bytes replaced by '?', so odd input still leaves a line. */
char *audit_line_build(long long unix_ms, long pid, int argc, char *const argv[]);

/* Appends the line for argv with O_APPEND and one write(), so that concurrent callers
 * never interleave inside a line. Returns 0 or -1 with a message in err. */
int audit_file_append(const char *path, int argc, char *const argv[], char *err, size_t errlen);

#endif
