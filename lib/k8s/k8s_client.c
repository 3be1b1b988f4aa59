#include "k8s/k8s_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

#define K8S_MAX_ANSWER (8u << 20)
#define K8S_MAX_EVENT (1u << 20)

void k8s_response_clear(struct k8s_response *r)
{
	json_decref(r->body);
	memset(r, 0, sizeof *r);
}

/* "Authorization: Bearer ..." or, when a client certificate alone authenticates, NULL. */
static int auth_header(const struct k8s_client *k, char **out)
{
	struct buf b;

	*out = NULL;
	if (!k->target->token)
		return 0;
	buf_init(&b, 70000);
	if (buf_printf(&b, "Authorization: Bearer %s", k->target->token) != 0) {
		buf_free(&b);
		return -1;
	}
	*out = buf_steal(&b);
	return 0;
}

static void wipe(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static int call_once(const struct k8s_client *k, const char *method, const char *path,
		     const char *accept, json_t *body, struct k8s_response *out, char *err, size_t errlen)
{
	char *auth = NULL, *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	struct buf url, accept_line;
	struct http_response rs;
	int rc = -1;

	memset(out, 0, sizeof *out);
	buf_init(&url, 8192);
	buf_init(&accept_line, 1024);
	if ((body && !text) || auth_header(k, &auth) != 0 ||
	    buf_printf(&url, "%s%s", k->target->server, path) != 0 ||
	    buf_printf(&accept_line, "Accept: %s", accept) != 0) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	{
		/* The Authorization line last: it may be absent (a client certificate). */
		const char *headers[] = { accept_line.data,
					  body ? "Content-Type: application/json" : auth,
					  body ? auth : NULL, NULL };
		struct http_request rq = {
			.method = method,
			.url = url.data,
			.headers = headers,
			.body = text,
			.body_len = text ? strlen(text) : 0,
			.ca_file = k->target->ca_file,
			.cert_file = k->target->cert_file,
			.key_file = k->target->key_file,
			.connect_to = k->target->connect_to,
			.timeout_ms = k->timeout_ms ? k->timeout_ms : 15000,
			.max_body = K8S_MAX_ANSWER,
			.wait = k->wait,
			.share = k->share,
			.tally = k->tally,
			.service = UPSTREAM_APISERVER,
		};
		if (http_do(&rq, &rs, err, errlen) != 0)
			goto done;
	}
	out->status = rs.status;
	out->abandoned = rs.abandoned;
	out->server_date = rs.date;
	memcpy(out->warning, rs.warning, sizeof out->warning);
	if (rs.body.len)
		out->body = json_loadb(rs.body.data, rs.body.len, 0, NULL);
	http_response_free(&rs);
	rc = 0;
done:
	wipe(auth);
	free(text);
	buf_free(&url);
	buf_free(&accept_line);
	return rc;
}

int k8s_call(const struct k8s_client *k, const char *method, const char *path, json_t *body,
	     struct k8s_response *out, char *err, size_t errlen)
{
	return k8s_call_accept(k, method, path, "application/json", body, out, err, errlen);
}

int k8s_call_accept(const struct k8s_client *k, const char *method, const char *path,
		    const char *accept, json_t *body, struct k8s_response *out, char *err,
		    size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (kube_target_fresh(k->target, false, err, errlen) != 0)
		return -1;
	if (call_once(k, method, path, accept, body, out, err, errlen) != 0)
		return -1;
	if (out->status != 401 || !k->target->source.renew)
		return 0;
	k8s_response_clear(out);
	if (kube_target_fresh(k->target, true, err, errlen) != 0)
		return -1;
	return call_once(k, method, path, accept, body, out, err, errlen);
}

const char *k8s_status_text(const struct k8s_response *r)
{
	const char *m = json_string_value(json_object_get(r->body, "message"));

	return m ? m : "the apiserver gave no reason";
}

struct watch_state {
	struct buf line;
	int (*on_event)(void *ud, const char *type, json_t *object);
	void *ud;
	int result;
};

/* Watch events arrive as newline-delimited JSON objects, split anywhere by the transport. */
static int watch_chunk(void *ud, const char *data, size_t len)
{
	struct watch_state *w = ud;

	for (size_t i = 0; i < len; i++) {
		json_t *ev;
		int rc;

		if (data[i] != '\n') {
			if (buf_append(&w->line, data + i, 1) != 0) {
				w->result = -1;
				return 1;
			}
			continue;
		}
		ev = json_loadb(w->line.data ? w->line.data : "", w->line.len, 0, NULL);
		buf_reset(&w->line);
		if (!ev)
			continue;
		rc = w->on_event(w->ud, json_string_value(json_object_get(ev, "type")),
				 json_object_get(ev, "object"));
		json_decref(ev);
		if (rc != 0) {
			w->result = rc;
			return 1;
		}
	}
	return 0;
}

int k8s_watch(const struct k8s_client *k, const char *path, int timeout_s,
	      int (*on_event)(void *ud, const char *type, json_t *object), void *ud,
	      struct k8s_response *r, char *err, size_t errlen)
{
	struct watch_state w = { .on_event = on_event, .ud = ud };
	char *auth = NULL;
	struct buf url;
	struct http_response rs;
	int rc = -1;

	memset(r, 0, sizeof *r);
	buf_init(&w.line, K8S_MAX_EVENT);
	if (kube_target_fresh(k->target, false, err, errlen) != 0) {
		buf_free(&w.line);
		return -1;
	}
	buf_init(&url, 8192);
	if (auth_header(k, &auth) != 0 ||
	    buf_printf(&url, "%s%s%swatch=1&timeoutSeconds=%d", k->target->server, path,
		       strchr(path, '?') ? "&" : "?", timeout_s) != 0) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	{
		const char *headers[] = { "Accept: application/json", auth, NULL };
		struct http_request rq = {
			.url = url.data,
			.headers = headers,
			.ca_file = k->target->ca_file,
			.cert_file = k->target->cert_file,
			.key_file = k->target->key_file,
			.connect_to = k->target->connect_to,
			.timeout_ms = (long)timeout_s * 1000 + 2000,
			.max_body = K8S_MAX_ANSWER,
			.wait = k->wait,
			.share = k->share,
			.tally = k->tally,
			.service = UPSTREAM_APISERVER,
			.on_body = watch_chunk,
			.body_ud = &w,
		};
		if (http_do(&rq, &rs, err, errlen) != 0) {
			/* The deadline passing mid-stream is the watch's normal end. */
			if (strstr(err, "timed out")) {
				rc = w.result;
				r->status = 200;
			}
			goto done;
		}
	}
	r->status = rs.status;
	r->abandoned = rs.abandoned;
	if (rs.status / 100 != 2) {
		r->body = json_loadb(rs.body.data ? rs.body.data : "", rs.body.len, 0, NULL);
		snprintf(err, errlen, "watch refused: HTTP %ld: %s", rs.status, k8s_status_text(r));
		http_response_free(&rs);
		goto done;
	}
	http_response_free(&rs);
	rc = w.result;
done:
	wipe(auth);
	buf_free(&url);
	buf_free(&w.line);
	return rc;
}
