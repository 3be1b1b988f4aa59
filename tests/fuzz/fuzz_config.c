/* Arbitrary bytes as the configuration file: the loader must either return a config or
 * NULL with a one-line message, never crash, leak or read out of bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	struct config *cfg;

	cfg = config_load_from_memory((const char *)data, size, "fuzz.yaml", err, sizeof err);
	if (!cfg && (!err[0] || strchr(err, '\n')))
		abort();
	config_free(cfg);
	return 0;
}
