/* libFuzzer target: arbitrary bytes as a JWKS document. Invariant checked: a set that
 * parses has at least one key, and every key has a PEM and a pinned algorithm. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/jwks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jwks *set = NULL;
	char err[256];
	size_t i;

	if (jwks_parse((const char *)data, size, &set, err, sizeof err) != 0) {
		if (set || !memchr(err, '\0', sizeof err))
			abort();
		return 0;
	}
	if (jwks_count(set) == 0)
		abort();
	for (i = 0; i < jwks_count(set); i++) {
		const struct jwk *k = jwks_key(set, i);

		if (!k || !k->alg || !k->pem || k->pem_len != strlen(k->pem) || k->sig_len == 0)
			abort();
		if (k->kid && !jwks_has_kid(set, k->kid))
			abort();
	}
	jwks_free(set);
	return 0;
}
