#include "connection.h"

#include <fcntl.h>
#include <stdio.h>

/* At most this much unread request body is read and dropped to make a plain close safe;
 * past it the lingering close stays. */
#define DRAIN_MAX 65536

/* libfcgi ends every connection the lingering way (libfcgi/os_unix.c OS_Close: shutdown of
 * the sending side, then poll and read until the web server closes its end, up to 2 s), so
 * that input the application never read cannot turn its close into a reset that loses the
 * answer before the web server has read it. That costs each request three system calls and
 * a wake-up of the worker, which then also waits for the web server. Once the request's
 * input has been read to its end (the empty FCGI_STDIN record that closes every request)
 * nothing more comes on the connection, and a plain close loses nothing: FCGX_Detach asks
 * libfcgi for one. What a handler left unread (a body it refused) is read here without
 * blocking; input not there yet, or more than DRAIN_MAX of it, keeps the lingering close.
 * A connection the web server keeps for further requests (FCGI_KEEP_CONN) is not closed
 * after this request at all, so it is left alone. */
void connection_close_plainly_when_read(FCGX_Request *fcgx)
{
	char sink[4096];
	int flags, left = DRAIN_MAX, n = 0;

	if (fcgx->keepConnection || fcgx->ipcFd < 0)
		return;
	flags = fcntl(fcgx->ipcFd, F_GETFL);
	if (flags < 0 || fcntl(fcgx->ipcFd, F_SETFL, flags | O_NONBLOCK) != 0)
		return;
	/* Without O_NONBLOCK a read of input not sent yet would wait for it. */
	while (left > 0 && (n = FCGX_GetStr(sink, sizeof sink, fcgx->in)) > 0)
		left -= n;
	/* Blocking again for the answer's last records, written by FCGX_Finish_r. */
	if (fcntl(fcgx->ipcFd, F_SETFL, flags) != 0)
		return;
	/* An EAGAIN is an error of the stream too (and closes it): only a clean end counts. */
	if (FCGX_HasSeenEOF(fcgx->in) == EOF && FCGX_GetError(fcgx->in) == 0)
		FCGX_Detach(fcgx);
}
