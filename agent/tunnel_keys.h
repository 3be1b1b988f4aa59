/* The authorized_keys file the tunnel's sshd reads for one connection: one line per
 * registered agent whose cluster is still an agent cluster in the configuration (a
 * cluster removed from the config is refused at its agent's next connect), each pinned
 * to its own loopback port:
 *   restrict,port-forwarding,permitlisten="127.0.0.1:47100" ssh-ed25519 AAAA... agent:edge
 * restrict turns off PTY, agent and X11 forwarding and user rc; port-forwarding turns back
 * on only forwarding, which the server's AllowTcpForwarding remote narrows to remote
 * forwards, and permitlisten to this one address and port (sshd(8) AUTHORIZED_KEYS FILE
 * FORMAT). */
#ifndef PERISCOPE_TUNNEL_KEYS_H
#define PERISCOPE_TUNNEL_KEYS_H

struct dbx;
#include <stddef.h>

#include "config/config.h"

/* Writes the file at path (mode 0600, replaced atomically). The number of keys written
 * goes to *count. 0, or -1 with err. */
int tunnel_keys_write(struct dbx *db, const struct config *cfg, const char *path, size_t *count,
		      char *err, size_t errlen);

#endif
