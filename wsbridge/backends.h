/* The remote shells wsbridge can attach a browser to. */
#ifndef PERISCOPE_WSBRIDGE_BACKENDS_H
#define PERISCOPE_WSBRIDGE_BACKENDS_H

#include "session.h"

extern const struct backend_ops cluster_shell_ops;
extern const struct backend_ops node_shell_ops;

#endif
