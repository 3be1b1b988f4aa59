/* The agent's ProxyCommand: joins stdin/stdout (ssh's side) to a WebSocket to periscope's
 * tunnel path, in binary messages. ssh brings its own keepalive (ServerAliveInterval);
 * WebSocket pings every 20 s keep idle proxies on the way from cutting the connection
 * first (an L7 proxy's 60 s idle timeout), and a connection silent for 75 s is dead. */
#ifndef PERISCOPE_WS_PIPE_H
#define PERISCOPE_WS_PIPE_H

/* Runs until either side ends: 0 for a clean end, 1 when the WebSocket could not be
 * opened or failed (the reason on stderr, which ssh shows). */
int ws_pipe_run(const char *url, const char *ca_file);

#endif
