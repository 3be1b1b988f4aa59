/* Structured logging: one compact JSON object per line on stderr (the journal under
 * systemd, the web server's error log otherwise). Never pass a secret in here. */
#ifndef PERISCOPE_LOG_H
#define PERISCOPE_LOG_H

#include <jansson.h>
#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Writes {"ts","level","component","msg",...fields}. fields may be NULL; it is consumed
 * (json_decref'd) by the call. */
void log_json(enum log_level level, const char *component, const char *msg, json_t *fields);
/* printf-style shorthand for messages without fields. */
void log_msg(enum log_level level, const char *component, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* RFC 3339 UTC timestamp with milliseconds into out (at least 32 bytes). */
void format_rfc3339_ms(long long unix_ms, char *out, size_t outlen);

#endif
