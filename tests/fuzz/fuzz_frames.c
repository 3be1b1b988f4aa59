/* Fuzz target: any bytes as a client frame line, whole and as stray bytes followed by a
 * frame; whatever parses must be well-formed, and mean what the JSON parser alone makes of
 * it (frame_parse_client reads the keystroke line without it). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shell/frames.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct client_frame f, ref;
	char err[128] = "", ref_err[128] = "";
	size_t skipped;
	int rc = frame_parse_client((const char *)data, size, &f, err, sizeof err);
	int ref_rc = frame_parse_client_json((const char *)data, size, &ref, ref_err, sizeof ref_err);

	if (rc != ref_rc || strcmp(err, ref_err) != 0 ||
	    (rc == 0 && (f.type != ref.type || f.len != ref.len || (f.len && memcmp(f.data, ref.data, f.len) != 0) ||
			 f.cols != ref.cols || f.rows != ref.rows || ((f.ts || ref.ts) && !json_equal(f.ts, ref.ts)))))
		abort();
	if (ref_rc == 0)
		client_frame_clear(&ref);
	if (rc == 0) {
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
