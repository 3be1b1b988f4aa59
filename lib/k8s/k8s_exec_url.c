#include "k8s/k8s_exec_url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "core/buf.h"

#define EXEC_URL_MAX (64 * 1024)

/* Appends s percent-encoded: curl_easy_escape leaves only RFC 3986 unreserved bytes, so
 * '/', '+', '&', '=' and spaces in an argv element cannot change the query's shape. */
static int append_escaped(struct buf *out, const char *s)
{
	char *e = curl_easy_escape(NULL, s, (int)strlen(s));
	int rc;

	if (!e)
		return -1;
	rc = buf_append_str(out, e);
	curl_free(e);
	return rc;
}

static int append_param(struct buf *out, bool *first, const char *key, const char *value)
{
	if (buf_printf(out, "%c%s=", *first ? '?' : '&', key) != 0 ||
	    append_escaped(out, value) != 0)
		return -1;
	*first = false;
	return 0;
}

char *k8s_exec_url(const struct k8s_exec_request *r, char *err, size_t errlen)
{
	struct buf url;
	const char *rest;
	size_t server_len;
	bool first = true;

	buf_init(&url, EXEC_URL_MAX);
	if (!r->server || !r->ns || !r->ns[0] || !r->pod || !r->pod[0]) {
		snprintf(err, errlen, "exec needs a server, a namespace and a pod");
		goto fail;
	}
	if (!r->command || !r->command[0]) {
		snprintf(err, errlen, "exec needs a command");
		goto fail;
	}
	if (!r->stdin_ && !r->stdout_ && !r->stderr_) {
		snprintf(err, errlen, "exec needs at least one of stdin, stdout, stderr");
		goto fail;
	}
	if (strncmp(r->server, "https://", 8) == 0) {
		rest = r->server + 8;
		if (buf_append_str(&url, "wss://") != 0)
			goto toolong;
	} else if (strncmp(r->server, "http://", 7) == 0) {
		rest = r->server + 7;
		if (buf_append_str(&url, "ws://") != 0)
			goto toolong;
	} else {
		snprintf(err, errlen, "server URL must start with https:// or http://");
		goto fail;
	}
	if (strpbrk(rest, "?#")) {
		snprintf(err, errlen, "server URL must not have a query or fragment");
		goto fail;
	}
	server_len = strlen(rest);
	while (server_len && rest[server_len - 1] == '/')
		server_len--;  /* a prefix like /k8s/clusters/c-1/ keeps working */
	if (server_len == 0) {
		snprintf(err, errlen, "server URL has no host");
		goto fail;
	}
	if (buf_append(&url, rest, server_len) != 0 ||
	    buf_append_str(&url, "/api/v1/namespaces/") != 0 || append_escaped(&url, r->ns) != 0 ||
	    buf_append_str(&url, "/pods/") != 0 || append_escaped(&url, r->pod) != 0 ||
	    buf_append_str(&url, "/exec") != 0)
		goto toolong;
	/* Keys in kubectl's (alphabetical) order; false flags are left out, as kubectl does. */
	for (size_t i = 0; r->command[i]; i++)
		if (append_param(&url, &first, "command", r->command[i]) != 0)
			goto toolong;
	if ((r->container && append_param(&url, &first, "container", r->container) != 0) ||
	    (r->stderr_ && append_param(&url, &first, "stderr", "true") != 0) ||
	    (r->stdin_ && append_param(&url, &first, "stdin", "true") != 0) ||
	    (r->stdout_ && append_param(&url, &first, "stdout", "true") != 0) ||
	    (r->tty && append_param(&url, &first, "tty", "true") != 0))
		goto toolong;
	return buf_steal(&url);
toolong:
	snprintf(err, errlen, "exec URL longer than %d bytes", EXEC_URL_MAX);
fail:
	buf_free(&url);
	return NULL;
}
