/* Fuzz target: any bytes as a client frame line, whole and as stray bytes followed by a
 * frame; whatever parses must be well-formed. */
#include <stdint.h>
#include <stdlib.h>

#include "shell/frames.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct client_frame f;
	char err[128];
	size_t skipped;

	if (frame_parse_client((const char *)data, size, &f, err, sizeof err) == 0) {
		if (f.type == CLIENT_STDIN && f.len > FRAME_MAX_STDIN)
			abort();
		if (f.type == CLIENT_RESIZE &&
		    (f.cols < 1 || f.rows < 1 || f.cols > FRAME_MAX_DIMENSION || f.rows > FRAME_MAX_DIMENSION))
			abort();
		client_frame_clear(&f);
	} else if (err[0] == '\0') {
		abort();
	}
	if (frame_parse_client_tail((const char *)data, size, &f, &skipped, err, sizeof err) == 0) {
		if (skipped >= size || (skipped > 0 && data[skipped] != '{') || (f.type == CLIENT_STDIN && f.len > FRAME_MAX_STDIN))
			abort();
		client_frame_clear(&f);
	}
	return 0;
}
