/* Fuzz target: any terminal bytes through the close row's JSON escaper
 * (core/json_escape.h), which writes untrusted output from a pod or an instance into an
 * audit row by hand. Whatever comes in, the text must be byte for byte what jansson writes
 * for the same bytes made valid UTF-8 (utf8_sanitize, then json_dumps), and must parse back
 * to that text. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_escape.h"
#include "core/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf mine;
	size_t clean_len;
	char *clean = utf8_sanitize(data, size, &clean_len), *want;
	json_t *s, *back;

	if (!clean)
		abort();
	s = json_stringn(clean, clean_len);
	want = s ? json_dumps(s, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	buf_init(&mine, 16u << 20);
	if (!want || json_escape_sanitized(&mine, data, size) != 0 || mine.len != strlen(want) ||
	    memcmp(mine.data, want, mine.len) != 0)
		abort();
	back = json_loadb(mine.data, mine.len, JSON_DECODE_ANY, NULL);
	if (!back || json_string_length(back) != clean_len ||
	    memcmp(json_string_value(back), clean, clean_len) != 0)
		abort();
	json_decref(back);
	json_decref(s);
	free(want);
	free(clean);
	buf_free(&mine);
	return 0;
}
