/* How a web server's connection to periscope.fcgi ends after each request. */
#ifndef PERISCOPE_FCGI_CONNECTION_H
#define PERISCOPE_FCGI_CONNECTION_H

#include <fcgiapp.h>

/* Called after the handler, before FCGX_Finish_r: when the request's input has been read
 * to its end, the connection will be closed plainly instead of libfcgi's lingering way. */
void connection_close_plainly_when_read(FCGX_Request *fcgx);

#endif
