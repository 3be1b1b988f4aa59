#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/timeutil.h"

static const char *level_name(enum log_level level)
{
	switch (level) {
	case LOG_DEBUG: return "debug";
	case LOG_INFO: return "info";
	case LOG_WARN: return "warn";
	default: return "error";
	}
}

void format_rfc3339_ms(long long unix_ms, char *out, size_t outlen)
{
	time_t secs = (time_t)(unix_ms / 1000);
	struct tm tm;

	gmtime_r(&secs, &tm);
	snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%03lldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, unix_ms % 1000);
}

void log_json(enum log_level level, const char *component, const char *msg, json_t *fields)
{
	char ts[40];
	json_t *line = json_object();
	char *text;

	if (!line) {
		json_decref(fields);
		return;
	}
	format_rfc3339_ms(now_ms(), ts, sizeof ts);
	json_object_set_new(line, "ts", json_string(ts));
	json_object_set_new(line, "level", json_string(level_name(level)));
	json_object_set_new(line, "component", json_string(component));
	json_object_set_new(line, "msg", json_string(msg));
	if (fields)
		json_object_update(line, fields);
	json_decref(fields);
	text = json_dumps(line, JSON_COMPACT);
	json_decref(line);
	if (!text)
		return;
	/* One write per line so that concurrent processes never interleave inside a line. */
	size_t n = strlen(text);
	text[n] = '\n';
	if (write(STDERR_FILENO, text, n + 1) < 0) {
		/* Nowhere left to report a failed log write. */
	}
	free(text);
}

void log_msg(enum log_level level, const char *component, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_json(level, component, msg, NULL);
}
