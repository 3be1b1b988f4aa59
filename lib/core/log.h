/* Structured logging: one compact JSON object per line, on stderr by default (the journal
 * under systemd, the web server's error log otherwise). A process may send its lines to
 * syslog (with their real priority) or to a file instead (log_sink_open): then stderr keeps
 * only the error lines, for a parent such as websocketd that labels all of a child's stderr
 * as ERROR. Never pass a secret, or anything a terminal showed, in here. */
#ifndef PERISCOPE_LOG_H
#define PERISCOPE_LOG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Writes {"ts","level","component","msg",...fields}. fields may be NULL; it is consumed
 * (json_decref'd) by the call. */
void log_json(enum log_level level, const char *component, const char *msg, json_t *fields);
/* printf-style shorthand for messages without fields. */
void log_msg(enum log_level level, const char *component, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Where this process's lines go from now on: "stderr", "syslog" (identified as ident, with
 * the pid) or an absolute file path (appended to, created 0640). Called once by main before
 * any thread starts. 0, or -1 with err (the lines stay on stderr). */
int log_sink_open(const char *spec, const char *ident, char *err, size_t errlen);
/* After the process closed every descriptor but a few (a forked guardian): opens the sink
 * again. */
void log_sink_reopen(void);
/* Whether the lines go to stderr (the default) rather than syslog or a file. */
bool log_sink_is_stderr(void);

/* RFC 3339 UTC timestamp with milliseconds into out (at least 32 bytes). */
void format_rfc3339_ms(long long unix_ms, char *out, size_t outlen);

#endif
