#include "agent/tunnel_streams.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int count_rows(const char *path, int port, const char *want_state)
{
	char want[32], line[512];
	FILE *f = fopen(path, "re");
	int count = 0;

	if (!f)
		return -1;
	/* "sl local_address rem_address st ...", addresses as hex IPv4:port (127.0.0.1 is
	 * 0100007F in the kernel's byte order on little-endian hosts). */
	snprintf(want, sizeof want, "0100007F:%04X", (unsigned int)port & 0xffffu);
	while (fgets(line, sizeof line, f)) {
		char local[64], remote[64], state[8];
		if (sscanf(line, " %*s %63s %63s %7s", local, remote, state) == 3 &&
		    strcmp(local, want) == 0 && strcmp(state, want_state) == 0)
			count++;
	}
	fclose(f);
	return count;
}

int tunnel_streams_count(const char *path, int port)
{
	return count_rows(path, port, "01");
}

int tunnel_port_listening(const char *path, int port)
{
	int n = count_rows(path, port, "0A");

	return n < 0 ? -1 : n > 0;
}

int tunnel_dropped(const char *path, int port, int wait_ms)
{
	struct timespec step = { 0, 50 * 1000000L };

	for (int waited = 0;; waited += 50) {
		if (tunnel_port_listening(path, port) == 0)
			return 1;
		if (waited >= wait_ms)
			return 0;
		nanosleep(&step, NULL);
	}
}
