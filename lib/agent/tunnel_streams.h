/* How many streams an agent's tunnel carries now: the established TCP connections to its
 * loopback port (each is one forwarded-tcpip channel of its ssh connection, sshd having
 * accepted it on the agent's listening socket). periscope bounds them per agent with
 * agents.maxStreams before it opens another (a shell's gate): sshd has no per-connection
 * limit on forwarded channels below the channel table's hard ceiling (OpenSSH channels.h
 * CHANNELS_MAX_CHANNELS, 16384), and MaxSessions does not apply (sessions are refused
 * outright, MaxSessions 0). */
#ifndef PERISCOPE_TUNNEL_STREAMS_H
#define PERISCOPE_TUNNEL_STREAMS_H

/* /proc/self/net: the process's own network namespace, visible under systemd's ProcSubset=pid. */
#define PROC_NET_TCP "/proc/self/net/tcp"

/* Rows of a /proc/net/tcp table (path) whose local end is 127.0.0.1:port and whose state
 * is ESTABLISHED (01); -1 when the table cannot be read. */
int tunnel_streams_count(const char *path, int port);
/* 1 when a socket listens on 127.0.0.1:port (state LISTEN, 0A) in the table, 0 when none,
 * -1 when it cannot be read. */
int tunnel_port_listening(const char *path, int port);

/* After a stream through the tunnel ended: 1 when the agent's listener on port is gone
 * within wait_ms (the tunnel dropped: sshd closes the listener and the streams as it
 * exits), 0 when it still listens (the stream alone ended). */
int tunnel_dropped(const char *path, int port, int wait_ms);

#endif
