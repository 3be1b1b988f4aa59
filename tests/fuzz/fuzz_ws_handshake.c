/* Fuzz target: the server's answer to the upgrade request (head, 101 checks, refusal
 * body with Content-Length or chunking), which is untrusted network input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "net/ws_handshake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const offer[] = { "v5.channel.k8s.io", "v4.channel.k8s.io", NULL };
	const char *text = (const char *)data, *chosen;
	size_t head = ws_handshake_head_end(text, size);
	struct ws_http_head h;
	struct buf body;
	char err[256];

	if (head == 0 || ws_handshake_parse_head(text, head, &h, err, sizeof err) != 0)
		return 0;
	if (ws_handshake_check_101(&h, "dGhlIHNhbXBsZSBub25jZQ==", offer, &chosen, err,
				   sizeof err) == 0 && chosen && strcmp(chosen, offer[0]) != 0 &&
	    strcmp(chosen, offer[1]) != 0)
		abort();
	buf_init(&body, WS_BODY_MAX);
	if (ws_handshake_body(&h, text + head, size - head, &body) == 1 && body.len > WS_BODY_MAX)
		abort();
	buf_free(&body);
	return 0;
}
