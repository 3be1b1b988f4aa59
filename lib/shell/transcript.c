#include "shell/transcript.h"

#include <stdlib.h>
#include <string.h>

#include "core/json_escape.h"

int transcript_init(struct transcript *t, size_t cap)
{
	memset(t, 0, sizeof *t);
	if (cap < 2)
		cap = 2;
	t->tail_cap = cap / 2;
	t->head_cap = cap - t->tail_cap;
	t->head = malloc(t->head_cap);
	t->tail = malloc(t->tail_cap);
	if (!t->head || !t->tail) {
		transcript_free(t);
		return -1;
	}
	return 0;
}

void transcript_add(struct transcript *t, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t n;

	t->total += (long long)len;
	n = t->head_cap - t->head_len;
	if (n > len)
		n = len;
	memcpy(t->head + t->head_len, p, n);
	t->head_len += n;
	p += n;
	len -= n;
	/* Only the last tail_cap bytes of a long write can stay. */
	if (len > t->tail_cap) {
		p += len - t->tail_cap;
		len = t->tail_cap;
	}
	while (len > 0) {
		n = t->tail_cap - t->tail_pos;
		if (n > len)
			n = len;
		memcpy(t->tail + t->tail_pos, p, n);
		t->tail_pos = (t->tail_pos + n) % t->tail_cap;
		t->tail_len = t->tail_len + n > t->tail_cap ? t->tail_cap : t->tail_len + n;
		p += n;
		len -= n;
	}
}

bool transcript_truncated(const struct transcript *t)
{
	return t->total > (long long)(t->head_len + t->tail_len);
}

/* The ring in order, into out (tail_len bytes). */
static void tail_copy(const struct transcript *t, unsigned char *out)
{
	size_t start = (t->tail_pos + t->tail_cap - t->tail_len) % t->tail_cap;
	size_t first = t->tail_cap - start < t->tail_len ? t->tail_cap - start : t->tail_len;

	memcpy(out, t->tail + start, first);
	memcpy(out + first, t->tail, t->tail_len - first);
}

static void reverse(unsigned char *p, size_t n)
{
	for (size_t i = 0, j = n; i + 1 < j; i++, j--) {
		unsigned char c = p[i];

		p[i] = p[j - 1];
		p[j - 1] = c;
	}
}

/* The ring turned in place so that its oldest byte comes first: a ring that has not gone
 * round is in order already; a full one is turned by three reversals, so that closing a
 * session needs no second copy of half the cap. Adding goes on as before. */
static void tail_straighten(struct transcript *t)
{
	size_t start = (t->tail_pos + t->tail_cap - t->tail_len) % t->tail_cap;

	if (start == 0)
		return;
	reverse(t->tail, start);
	reverse(t->tail + start, t->tail_cap - start);
	reverse(t->tail, t->tail_cap);
	t->tail_pos = t->tail_len % t->tail_cap;
}

/* One member `"key":"text"`, after a comma unless it is the first. */
static int add_member(struct buf *members, const char *key, const unsigned char *data,
		      size_t len)
{
	if ((members->len && buf_append(members, ",", 1) != 0) ||
	    buf_printf(members, "\"%s\":", key) != 0)
		return -1;
	return json_escape_sanitized(members, data, len);
}

int transcript_to_json(struct transcript *t, json_t *extra, struct buf *members)
{
	size_t len = t->head_len + t->tail_len, skip = 0;
	bool cut = transcript_truncated(t);
	unsigned char *all;
	int rc;

	json_object_set_new(extra, "transcript_bytes", json_integer(t->total));
	json_object_set_new(extra, "truncated", json_boolean(cut));
	if (!len)
		return 0;
	if (!cut) {
		/* One text: head and tail joined (at most the cap; a character may span them). */
		all = malloc(len);
		if (!all)
			return -1;
		memcpy(all, t->head, t->head_len);
		tail_copy(t, all + t->head_len);
		rc = add_member(members, "transcript", all, len);
		free(all);
		return rc;
	}
	/* Two texts, each escaped where it is. The tail starts wherever the ring was: at the
	 * next character, not inside one. */
	tail_straighten(t);
	while (skip < 3 && skip < t->tail_len && (t->tail[skip] & 0xC0) == 0x80)
		skip++;
	json_object_set_new(extra, "truncated_at", json_integer((json_int_t)t->head_len));
	json_object_set_new(extra, "tail_from", json_integer(t->total - (long long)(t->tail_len - skip)));
	if (add_member(members, "transcript", t->head, t->head_len) != 0 ||
	    add_member(members, "transcript_tail", t->tail + skip, t->tail_len - skip) != 0)
		return -1;
	return 0;
}

const char *const *transcript_member_keys(void)
{
	static const char *const keys[] = { "transcript", "transcript_tail", NULL };

	return keys;
}

char *transcript_join(const struct transcript *t, const char *sep, size_t *len)
{
	size_t seplen = transcript_truncated(t) && sep ? strlen(sep) : 0;
	char *out = malloc(t->head_len + seplen + t->tail_len + 1);

	if (!out)
		return NULL;
	if (t->head_len)
		memcpy(out, t->head, t->head_len);
	memcpy(out + t->head_len, sep ? sep : "", seplen);
	if (t->tail_len)
		tail_copy(t, (unsigned char *)out + t->head_len + seplen);
	*len = t->head_len + seplen + t->tail_len;
	out[*len] = '\0';
	return out;
}

void transcript_free(struct transcript *t)
{
	free(t->head);
	free(t->tail);
	memset(t, 0, sizeof *t);
}
