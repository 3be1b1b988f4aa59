/* Clocks. Wall time for timestamps that land in rows; monotonic time for timers. */
#ifndef PERISCOPE_TIMEUTIL_H
#define PERISCOPE_TIMEUTIL_H

long long now_ms(void);        /* wall clock, milliseconds since the epoch */
long long now_ns(void);        /* wall clock, nanoseconds since the epoch */
long long monotonic_ms(void);  /* for timers: never jumps */
long long monotonic_us(void);  /* the same clock in microseconds */
/* Parses RFC 3339 (2026-01-02T03:04:05Z, optional fraction, Z or +hh:mm) into Unix
 * nanoseconds. Returns 0, or -1 when the text is not RFC 3339. */
int parse_rfc3339_ns(const char *s, long long *out_ns);

#endif
