/* The tunnel's sshd: run per agent connection in inetd mode (-i) on the WebSocket that
 * websocketd hands over, as periscope's own user, with no configuration file of the
 * system's (-f /dev/null: every setting is here, so nothing in /etc/ssh applies). It
 * allows one thing, remote port forwarding, and only to each key's own permitlisten port
 * (agent/tunnel_keys.h). MaxSessions 0 refuses every session channel (no shell, no
 * command, no subsystem), AllowTcpForwarding remote every local forward (direct-tcpip),
 * so an agent can reach nothing on the server but its own listening port. */
#ifndef PERISCOPE_TUNNEL_SSHD_H
#define PERISCOPE_TUNNEL_SSHD_H

#include <stddef.h>

#define SSHD_PATH "/usr/sbin/sshd"
#define TUNNEL_SSHD_ARGS_MAX 96
/* ClientAliveInterval: a dead agent is noticed within 3 intervals. */
#define TUNNEL_ALIVE_SECONDS 15

struct tunnel_sshd_args {
	char *argv[TUNNEL_SSHD_ARGS_MAX];
	char store[8192];
	size_t used, argc;
};

/* Fills a: sshd's argv (a->argv, NULL-terminated). 0, or -1 when a path is too long. */
int tunnel_sshd_args(struct tunnel_sshd_args *a, const char *host_key, const char *keys_file,
		     const char *user);

#endif
