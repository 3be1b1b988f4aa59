/* syslog(3) for core/log.c, in a file of its own: <syslog.h> defines LOG_INFO and friends
 * as macros, which would clash with log.h's levels. */
#ifndef PERISCOPE_LOG_SYSLOG_H
#define PERISCOPE_LOG_SYSLOG_H

void log_syslog_open(const char *ident);
void log_syslog_close(void);
/* level: log.h's enum log_level (debug, info, warn, error = 0..3). */
void log_syslog_write(int level, const char *line);

#endif
