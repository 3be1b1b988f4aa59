/* Fuzz target: an incoming exec-stream message (channel byte + payload) and the Status
 * JSON parser, which sees whatever the server puts on channel 3 or in a refusal body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/k8s_channel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct k8s_frame f;
	struct k8s_status st;
	char err[128], line[700];

	if (k8s_decode(data, size, &f) == 0 && f.channel == K8S_CH_STATUS &&
	    k8s_status_parse((const char *)f.payload, f.len, &st, err, sizeof err) == 0) {
		k8s_status_describe(&st, line, sizeof line);
		if (st.kind == K8S_STATUS_EXIT && (st.exit_code < 0 || st.exit_code > 255))
			abort();
	}
	if (k8s_status_parse((const char *)data, size, &st, err, sizeof err) == 0)
		k8s_status_describe(&st, line, sizeof line);
	return 0;
}
