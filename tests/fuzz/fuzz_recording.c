/* Fuzz target: any terminal bytes through the recording's JSON escaper (shell/recording.h),
 * which decodes untrusted output from a pod or an instance. The first byte picks where the
 * bytes are cut in two reads. Whatever comes in, the result must be a JSON string that
 * parses, and decoding in two reads (an incomplete sequence carried over) must give exactly
 * what one read gives, as asciinema's incremental decoder does. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "shell/recording.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *quoted(struct buf *b)
{
	struct buf q;

	buf_init(&q, 16u << 20);
	if (buf_append(&q, "\"", 1) != 0 || buf_append(&q, b->data, b->len) != 0 ||
	    buf_append(&q, "\"", 1) != 0)
		abort();
	return buf_steal(&q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf whole, parts;
	size_t cut, used;
	long long n;
	unsigned char *rest;
	char *json;
	json_t *v;

	if (size < 1)
		return 0;
	cut = data[0] % size;
	data++;
	size--;
	buf_init(&whole, 16u << 20);
	buf_init(&parts, 16u << 20);
	if (recording_escape(&whole, data, size, true) != (long long)size)
		abort();
	n = recording_escape(&parts, data, cut, false);
	if (n < 0 || (size_t)n > cut || cut - (size_t)n > 3)
		abort();
	used = (size_t)n;
	/* The carried bytes come first in the next read. */
	rest = malloc(size - used + 1);
	if (!rest)
		abort();
	memcpy(rest, data + used, size - used);
	if (recording_escape(&parts, rest, size - used, true) != (long long)(size - used))
		abort();
	free(rest);
	if (whole.len != parts.len || (whole.len && memcmp(whole.data, parts.data, whole.len) != 0))
		abort();
	json = quoted(&whole);
	v = json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	if (!json_is_string(v))
		abort();
	/* Valid UTF-8 without NUL comes back unchanged. */
	if (utf8_valid(data, size) &&
	    (json_string_length(v) != size || memcmp(json_string_value(v), data, size) != 0))
		abort();
	json_decref(v);
	free(json);
	buf_free(&whole);
	buf_free(&parts);
	return 0;
}
