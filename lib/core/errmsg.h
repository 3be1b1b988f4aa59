/* The one-line error message every fallible function writes into its caller's buffer. */
#ifndef PERISCOPE_ERRMSG_H
#define PERISCOPE_ERRMSG_H

#include <stddef.h>

/* printf into err (when err is not NULL and errlen > 0); never a secret in it. */
void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
