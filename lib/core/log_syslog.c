#include "core/log_syslog.h"

#include <syslog.h>

void log_syslog_open(const char *ident)
{
	/* ident must outlive the connection: log.c keeps it in its sink. Under systemd the
	 * lines reach the journal with this priority (journalctl -t ident -p warning). */
	openlog(ident, LOG_PID, LOG_DAEMON);
}

void log_syslog_close(void)
{
	closelog();
}

void log_syslog_write(int level, const char *line)
{
	static const int priority[] = { LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR };

	syslog(level >= 0 && level < 4 ? priority[level] : LOG_ERR, "%s", line);
}
