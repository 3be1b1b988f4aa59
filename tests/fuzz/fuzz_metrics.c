/* Fuzz target: any bytes as a metrics.allowedNetworks item (net/cidr.h) and as a label value
 * of the exposition (metrics/prom_text.h). A network that parses contains its own address;
 * a label value, whatever it holds, yields exactly one line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/prom_text.h"
#include "net/cidr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct cidr net;
	struct buf out;
	json_t *labels;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (cidr_parse(text, &net) == 0) {
		char *slash = strchr(text, '/');
		if (slash)
			*slash = '\0';
		if (net.prefix < 0 || net.prefix > (net.family == 2 /* AF_INET */ ? 32 : 128) ||
		    !cidr_contains(&net, text))
			abort();
	}
	/* A label value is any UTF-8 (jansson refuses the rest). */
	labels = json_pack("{s:s%}", "cluster", (const char *)data, size);
	buf_init(&out, 1 << 22);
	if (labels && prom_sample(&out, "periscope_fuzz_total", labels, 1) == 0) {
		const char *nl = memchr(out.data, '\n', out.len);
		if (!nl || (size_t)(nl - out.data) != out.len - 1)
			abort();
	}
	buf_free(&out);
	json_decref(labels);
	free(text);
	return 0;
}
