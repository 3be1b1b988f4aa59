#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log_syslog.h"
#include "core/timeutil.h"

enum sink_kind { SINK_STDERR, SINK_SYSLOG, SINK_FILE };

/* The process's one log destination: set once by main (log_sink_open) before any thread
 * starts and only read afterwards, like openlog(3)'s own state. */
static struct {
	enum sink_kind kind;
	int fd;
	char path[PATH_MAX];
	char ident[64];
} sink = { SINK_STDERR, -1, "", "" };

static int open_file(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
}

int log_sink_open(const char *spec, const char *ident, char *err, size_t errlen)
{
	if (!spec || strcmp(spec, "stderr") == 0) {
		sink.kind = SINK_STDERR;
		return 0;
	}
	snprintf(sink.ident, sizeof sink.ident, "%s", ident);
	if (strcmp(spec, "syslog") == 0) {
		log_syslog_open(sink.ident);
		sink.kind = SINK_SYSLOG;
		return 0;
	}
	if (spec[0] != '/' || strlen(spec) >= sizeof sink.path) {
		snprintf(err, errlen, "log destination %s: not syslog, stderr or an absolute path", spec);
		return -1;
	}
	sink.fd = open_file(spec);
	if (sink.fd < 0) {
		snprintf(err, errlen, "cannot open the log file %s: %s", spec, strerror(errno));
		return -1;
	}
	snprintf(sink.path, sizeof sink.path, "%s", spec);
	sink.kind = SINK_FILE;
	return 0;
}

void log_sink_reopen(void)
{
	if (sink.kind == SINK_SYSLOG) {
		log_syslog_close();
		log_syslog_open(sink.ident);
	} else if (sink.kind == SINK_FILE) {
		sink.fd = open_file(sink.path);
		if (sink.fd < 0)
			sink.kind = SINK_STDERR;
	}
}

bool log_sink_is_stderr(void)
{
	return sink.kind == SINK_STDERR;
}

static void write_line(int fd, const char *line, size_t len)
{
	if (write(fd, line, len) < 0) {
		/* Nowhere left to report a failed log write. */
	}
}

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
	if (sink.kind == SINK_SYSLOG)
		log_syslog_write((int)level, text);
	text[n] = '\n';
	if (sink.kind == SINK_FILE)
		write_line(sink.fd, text, n + 1);
	/* stderr: every line when it is the sink, else the errors only. */
	if (sink.kind == SINK_STDERR || level == LOG_ERROR)
		write_line(STDERR_FILENO, text, n + 1);
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
