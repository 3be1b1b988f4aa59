#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "store/audit.h"

char *audit_extra_text(const struct audit_event *ev)
{
	bool has_extra = ev->extra && json_object_size(ev->extra) > 0;
	char *dumped;
	size_t n;
	struct buf b;

	if (!ev->extra_raw || !*ev->extra_raw)
		return has_extra ? json_dumps(ev->extra, JSON_COMPACT) : NULL;
	dumped = has_extra ? json_dumps(ev->extra, JSON_COMPACT) : strdup("{}");
	if (!dumped)
		return NULL;
	/* "{...}" becomes "{...," raw "}"; "{}" becomes "{" raw "}". */
	n = strlen(dumped);
	buf_init(&b, SIZE_MAX);
	if (buf_room(&b, n + strlen(ev->extra_raw) + 1) == NULL ||
	    buf_append(&b, dumped, n - 1) != 0 || (has_extra && buf_append(&b, ",", 1) != 0) ||
	    buf_append_str(&b, ev->extra_raw) != 0 || buf_append(&b, "}", 1) != 0) {
		buf_free(&b); /* data NULL again */
	}
	free(dumped);
	return b.data;
}

const char *audit_extra_text_in_place(const struct audit_event *ev)
{
	struct buf *b = ev->extra_raw_buf;
	bool has_extra = ev->extra && json_object_size(ev->extra) > 0;
	char *dumped = has_extra ? json_dumps(ev->extra, JSON_COMPACT) : strdup("{}");
	size_t n, prefix;

	if (!dumped)
		return NULL;
	/* "{...}" goes before the members as "{...,", "{}" as "{"; "}" after them. */
	n = strlen(dumped);
	prefix = n - 1 + (has_extra ? 1 : 0);
	if (buf_room(b, prefix + 1) == NULL) {
		free(dumped);
		return NULL;
	}
	memmove(b->data + prefix, b->data, b->len + 1);
	memcpy(b->data, dumped, n - 1);
	if (has_extra)
		b->data[n - 1] = ',';
	buf_commit(b, prefix);
	free(dumped);
	return buf_append(b, "}", 1) == 0 ? b->data : NULL;
}
