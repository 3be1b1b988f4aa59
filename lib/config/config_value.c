/* Typed values of the configuration: the same parsers serve YAML scalars and environment
 * variables, so that a key accepts the same text from either place. */
#include "config/config_internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/tiers.h"

const char *cfg_type_expectation(enum cfg_type t)
{
	switch (t) {
	case CFG_STRING:
	case CFG_OPT_STRING: return "a string";
	case CFG_URL: return "an http:// or https:// URL";
	case CFG_BOOL:
	case CFG_TRISTATE: return "true or false";
	case CFG_POS_INT: return "a positive integer";
	case CFG_NONNEG_INT: return "a non-negative integer";
	case CFG_POS_INT64: return "a positive integer";
	case CFG_POS_DURATION: return "a positive duration (seconds, or like \"90s\", \"30m\", \"8h\", \"1h30m\")";
	case CFG_NONNEG_DURATION: return "a non-negative duration (seconds, or like \"90s\", \"30m\", \"8h\", \"1h30m\")";
	case CFG_TIER: return "a tier (read, triage, write, maintain, admin) or \"\"";
	case CFG_AUTHZ_MODE: return "shared, tier or raw";
	case CFG_BACKEND: return "eks, kubeconfig, in-cluster or agent";
	case CFG_PULL_POLICY: return "Always, IfNotPresent or Never";
	case CFG_SHELL_MODE: return "bash (kubectl-only is not implemented)";
	case CFG_STRING_LIST: return "a list of strings";
	case CFG_TIER_LIST: return "a list of tiers (read, triage, write, maintain, admin)";
	case CFG_GROUP_TIERS: return "a mapping of group to tier";
	case CFG_MAP: return "a mapping";
	case CFG_CLUSTERS: return "a list of clusters";
	}
	return "a value";
}

/* Digits only, no sign, no blanks; fits in max. */
static int parse_decimal(const char *s, long long max, long long *out)
{
	long long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (max - (*s - '0')) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return 0;
}

/* Integer seconds, or one or more <digits><h|m|s> groups in that order ("1h30m"). */
static int parse_duration(const char *s, long long *out)
{
	static const char units[] = "hms";
	static const long long unit_seconds[] = { 3600, 60, 1 };
	long long total = 0;
	size_t next_unit = 0;

	if (parse_decimal(s, INT_MAX, out) == 0)
		return 0;
	if (!*s)
		return -1;
	while (*s) {
		long long v = 0;
		const char *digits = s, *u;

		while (*s >= '0' && *s <= '9') {
			if (v > (INT_MAX - (*s - '0')) / 10)
				return -1;
			v = v * 10 + (*s - '0');
			s++;
		}
		if (s == digits || !*s)
			return -1;
		u = strchr(units + next_unit, *s);
		if (!u)
			return -1;
		next_unit = (size_t)(u - units);
		if (v > (INT_MAX - total) / unit_seconds[next_unit])
			return -1;
		total += v * unit_seconds[next_unit];
		next_unit++;
		s++;
	}
	*out = total;
	return 0;
}

static int parse_bool(const char *s, bool from_env, bool *out)
{
	if (strcmp(s, "true") == 0 || (from_env && strcmp(s, "1") == 0)) {
		*out = true;
		return 0;
	}
	if (strcmp(s, "false") == 0 || (from_env && strcmp(s, "0") == 0)) {
		*out = false;
		return 0;
	}
	return -1;
}

static bool is_http_url(const char *s)
{
	const char *rest;

	if (strncmp(s, "http://", 7) == 0)
		rest = s + 7;
	else if (strncmp(s, "https://", 8) == 0)
		rest = s + 8;
	else
		return false;
	return *rest && *rest != '/';
}

int cfg_replace_string(char **field, const char *value)
{
	char *copy = strdup(value);

	if (!copy)
		return -1;
	free(*field);
	*field = copy;
	return 0;
}

static int parse_enum(enum cfg_type t, const char *s, void *dst)
{
	switch (t) {
	case CFG_AUTHZ_MODE: {
		static const char *const names[] = { "shared", "tier", "raw" };
		static const enum authz_mode modes[] = { AUTHZ_SHARED, AUTHZ_TIER, AUTHZ_RAW };
		for (size_t i = 0; i < 3; i++)
			if (strcmp(s, names[i]) == 0) {
				*(enum authz_mode *)dst = modes[i];
				return 0;
			}
		return -1;
	}
	case CFG_BACKEND: {
		static const char *const names[] = { "eks", "kubeconfig", "in-cluster", "agent" };
		static const enum cluster_backend backends[] = { BACKEND_EKS, BACKEND_KUBECONFIG,
								 BACKEND_IN_CLUSTER, BACKEND_AGENT };
		for (size_t i = 0; i < 4; i++)
			if (strcmp(s, names[i]) == 0) {
				*(enum cluster_backend *)dst = backends[i];
				return 0;
			}
		return -1;
	}
	case CFG_TIER:
		if (!*s) {
			*(enum tier *)dst = TIER_NONE;
			return 0;
		}
		return tier_parse(s, (enum tier *)dst);
	default:
		return -1;
	}
}

/* Environment values are often written with stray blanks (`VAR= 30`); keys with a
 * strict grammar ignore them there. */
static char *trimmed_copy(const char *s)
{
	size_t len;

	while (isspace((unsigned char)*s))
		s++;
	len = strlen(s);
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	return strndup(s, len);
}

int cfg_parse_scalar(enum cfg_type t, const char *text, bool from_env, void *dst)
{
	char *owned = NULL;
	const char *s = text;
	long long n;
	bool b;
	int rc = -1;

	if (from_env && t != CFG_STRING && t != CFG_OPT_STRING) {
		owned = trimmed_copy(text);
		if (!owned)
			return -2;
		s = owned;
	}
	switch (t) {
	case CFG_STRING:
		rc = cfg_replace_string(dst, s) ? -2 : 0;
		break;
	case CFG_URL:
		if (*s && !is_http_url(s))
			break;
		rc = cfg_replace_string(dst, s) ? -2 : 0;
		break;
	case CFG_OPT_STRING: {
		char **field = dst;
		if (!*s) {
			free(*field);
			*field = NULL;
			rc = 0;
		} else {
			rc = cfg_replace_string(field, s) ? -2 : 0;
		}
		break;
	}
	case CFG_BOOL:
		if (parse_bool(s, from_env, &b) == 0) {
			*(bool *)dst = b;
			rc = 0;
		}
		break;
	case CFG_TRISTATE:
		if (parse_bool(s, from_env, &b) == 0) {
			*(int *)dst = b ? 1 : 0;
			rc = 0;
		}
		break;
	case CFG_POS_INT:
	case CFG_NONNEG_INT:
		if (parse_decimal(s, INT_MAX, &n) == 0 && (n > 0 || t == CFG_NONNEG_INT)) {
			*(int *)dst = (int)n;
			rc = 0;
		}
		break;
	case CFG_POS_INT64:
		if (parse_decimal(s, LLONG_MAX, &n) == 0 && n > 0) {
			*(long long *)dst = n;
			rc = 0;
		}
		break;
	case CFG_POS_DURATION:
	case CFG_NONNEG_DURATION:
		if (parse_duration(s, &n) == 0 && (n > 0 || t == CFG_NONNEG_DURATION)) {
			*(int *)dst = (int)n;
			rc = 0;
		}
		break;
	case CFG_PULL_POLICY:
		if (strcmp(s, "Always") == 0 || strcmp(s, "IfNotPresent") == 0 ||
		    strcmp(s, "Never") == 0)
			rc = cfg_replace_string(dst, s) ? -2 : 0;
		break;
	case CFG_SHELL_MODE:
		if (strcmp(s, "bash") == 0)
			rc = cfg_replace_string(dst, s) ? -2 : 0;
		break;
	case CFG_TIER:
	case CFG_AUTHZ_MODE:
	case CFG_BACKEND:
		rc = parse_enum(t, s, dst);
		break;
	default:
		break;
	}
	free(owned);
	return rc;
}

void cfg_quote(const char *s, char *out, size_t outlen)
{
	/* Long enough to recognise the value, short enough to keep the message one line. */
	const size_t max_shown = 64;
	size_t o = 0, shown = 0;

	if (outlen < 8) {
		if (outlen)
			out[0] = '\0';
		return;
	}
	out[o++] = '"';
	for (; *s; s++, shown++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];
		size_t n;

		if (shown == max_shown) {
			if (o + 4 < outlen) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (c == '"' || c == '\\')
			n = (size_t)snprintf(esc, sizeof esc, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			n = (size_t)snprintf(esc, sizeof esc, "\\x%02x", c);
		else
			n = (size_t)snprintf(esc, sizeof esc, "%c", c);
		if (o + n + 2 > outlen)
			break;
		memcpy(out + o, esc, n);
		o += n;
	}
	out[o++] = '"';
	out[o] = '\0';
}

void string_list_clear(struct string_list *list)
{
	for (size_t i = 0; i < list->count; i++)
		free(list->items[i]);
	free(list->items);
	list->items = NULL;
	list->count = 0;
}

int string_list_append(struct string_list *list, const char *s)
{
	char *copy = strdup(s);
	char **grown;

	if (!copy)
		return -1;
	grown = realloc(list->items, (list->count + 1) * sizeof *grown);
	if (!grown) {
		free(copy);
		return -1;
	}
	grown[list->count++] = copy;
	list->items = grown;
	return 0;
}

size_t cfg_edit_distance(const char *a, const char *b, size_t cap)
{
	/* Keys are short; longer strings are simply "far". */
	enum { MAXLEN = 64 };
	size_t la = strlen(a), lb = strlen(b), prev[MAXLEN + 1], cur[MAXLEN + 1];

	if (la > MAXLEN || lb > MAXLEN)
		return cap + 1;
	if ((la > lb ? la - lb : lb - la) > cap)
		return cap + 1;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t row_min;

		cur[0] = i;
		row_min = cur[0];
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			size_t best = sub < del ? sub : del;

			cur[j] = best < ins ? best : ins;
			if (cur[j] < row_min)
				row_min = cur[j];
		}
		if (row_min > cap)
			return cap + 1;
		memcpy(prev, cur, (lb + 1) * sizeof prev[0]);
	}
	return prev[lb] > cap ? cap + 1 : prev[lb];
}

int cfg_read_file(const char *path, size_t max, char **out, size_t *outlen, char *why,
		  size_t whylen)
{
	int fd = -1;
	struct stat st;
	char *data = NULL;
	size_t len = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		snprintf(why, whylen, "%s", strerror(errno));
		goto fail;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(why, whylen, "%s", strerror(errno));
		goto fail;
	}
	/* A FIFO or a device would block or never end. */
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "not a regular file");
		goto fail;
	}
	if ((unsigned long long)st.st_size > max) {
		snprintf(why, whylen, "larger than %zu bytes", max);
		goto fail;
	}
	data = malloc((size_t)st.st_size + 1);
	if (!data) {
		snprintf(why, whylen, "out of memory");
		goto fail;
	}
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, data + len, (size_t)st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(why, whylen, "%s", strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	data[len] = '\0';
	close(fd);
	*out = data;
	*outlen = len;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	free(data);
	return -1;
}
