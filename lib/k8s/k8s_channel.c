#include "k8s/k8s_channel.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

/* v5 first: on 1.30+ it reaches the apiserver's stream translator (stdin half-close);
 * older servers, or the gate off, pick v4 on the kubelet path. */
const char *const k8s_subprotocol_offer[] = { K8S_SUBPROTOCOL_V5, K8S_SUBPROTOCOL_V4, NULL };

enum k8s_proto k8s_proto_from_subprotocol(const char *subprotocol)
{
	if (!subprotocol)
		return K8S_PROTO_UNKNOWN;
	if (strcmp(subprotocol, K8S_SUBPROTOCOL_V5) == 0)
		return K8S_PROTO_V5;
	if (strcmp(subprotocol, K8S_SUBPROTOCOL_V4) == 0)
		return K8S_PROTO_V4;
	return K8S_PROTO_UNKNOWN;
}

bool k8s_proto_can_close_stdin(enum k8s_proto proto)
{
	return proto == K8S_PROTO_V5;
}

int k8s_encode_stdin(struct buf *out, const void *data, size_t len)
{
	const uint8_t channel = K8S_CH_STDIN;

	buf_reset(out);
	if (buf_append(out, &channel, 1) != 0 || buf_append(out, data, len) != 0)
		return -1;
	return 0;
}

int k8s_encode_resize(struct buf *out, unsigned cols, unsigned rows)
{
	const uint8_t channel = K8S_CH_RESIZE;

	buf_reset(out);
	if (cols < 1 || cols > 65535 || rows < 1 || rows > 65535)
		return -1;
	/* Two integers and fixed keys: nothing to escape, so printf is exact JSON here. The key
	 * spelling and the trailing newline are what kubectl sends. */
	if (buf_append(out, &channel, 1) != 0 ||
	    buf_printf(out, "{\"Width\":%u,\"Height\":%u}\n", cols, rows) != 0)
		return -1;
	return 0;
}

int k8s_encode_close_stdin(struct buf *out, enum k8s_proto proto)
{
	const uint8_t msg[2] = { K8S_CH_CLOSE, K8S_CH_STDIN };

	buf_reset(out);
	if (!k8s_proto_can_close_stdin(proto))
		return -1;
	return buf_append(out, msg, sizeof msg);
}

int k8s_decode(const uint8_t *msg, size_t len, struct k8s_frame *frame)
{
	if (len == 0)
		return -1;
	frame->channel = msg[0];
	frame->payload = msg + 1;
	frame->len = len - 1;
	return 0;
}

static void copy_string_member(json_t *obj, const char *key, char *out, size_t outlen)
{
	const char *s = json_string_value(json_object_get(obj, key));

	snprintf(out, outlen, "%s", s ? s : "");
}

/* The cause's message is the exit code as unsigned decimal text; 0..255 only. */
static int parse_exit_code(const char *s, int *code)
{
	int n = 0;
	size_t i;

	if (!s || !s[0] || strlen(s) > 3)
		return -1;
	for (i = 0; s[i]; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		n = n * 10 + (s[i] - '0');
	}
	if (n > 255)
		return -1;
	*code = n;
	return 0;
}

/* details.causes[] entry with reason "ExitCode" (Go's cause *type*, serialised as
 * "reason"): its message is the exit code. */
static int find_exit_code(json_t *status, int *code)
{
	json_t *causes = json_object_get(json_object_get(status, "details"), "causes");
	size_t i;
	json_t *cause;

	json_array_foreach(causes, i, cause) {
		const char *reason = json_string_value(json_object_get(cause, "reason"));

		if (reason && strcmp(reason, "ExitCode") == 0)
			return parse_exit_code(json_string_value(json_object_get(cause, "message")),
					       code);
	}
	return -1;
}

static bool all_space(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!isspace((unsigned char)s[i]))
			return false;
	return true;
}

int k8s_status_parse(const char *json, size_t len, struct k8s_status *st,
		     char *err, size_t errlen)
{
	json_t *root = NULL;
	json_error_t jerr;
	const char *status;
	json_int_t code;
	int ret = -1;

	memset(st, 0, sizeof *st);
	st->kind = K8S_STATUS_SUCCESS;
	/* No status at all before a clean close means success (client-go does the same). */
	if (len == 0 || all_space(json, len))
		return 0;
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root || !json_is_object(root)) {
		snprintf(err, errlen, "status is not a JSON object");
		goto fail;
	}
	status = json_string_value(json_object_get(root, "status"));
	if (!status) {
		snprintf(err, errlen, "status object has no \"status\" string");
		goto fail;
	}
	copy_string_member(root, "reason", st->reason, sizeof st->reason);
	copy_string_member(root, "message", st->message, sizeof st->message);
	code = json_integer_value(json_object_get(root, "code"));
	st->code = code > 0 && code < 1000 ? (int)code : 0;
	if (strcmp(status, "Success") == 0) {
		st->kind = K8S_STATUS_SUCCESS;
	} else if (strcmp(status, "Failure") == 0) {
		st->kind = K8S_STATUS_FAILURE;
		if (strcmp(st->reason, "NonZeroExitCode") == 0 &&
		    find_exit_code(root, &st->exit_code) == 0)
			st->kind = K8S_STATUS_EXIT;
	} else {
		snprintf(err, errlen, "unknown status value \"%.32s\"", status);
		goto fail;
	}
	ret = 0;
fail:
	json_decref(root);
	if (ret != 0)
		memset(st, 0, sizeof *st);
	return ret;
}

void k8s_status_describe(const struct k8s_status *st, char *out, size_t outlen)
{
	switch (st->kind) {
	case K8S_STATUS_SUCCESS:
		snprintf(out, outlen, "success");
		break;
	case K8S_STATUS_EXIT:
		snprintf(out, outlen, "command terminated with exit code %d", st->exit_code);
		break;
	case K8S_STATUS_FAILURE:
		if (st->code)
			snprintf(out, outlen, "%s (%d): %s", st->reason[0] ? st->reason : "Failure",
				 st->code, st->message[0] ? st->message : "no message");
		else
			snprintf(out, outlen, "%s: %s", st->reason[0] ? st->reason : "Failure",
				 st->message[0] ? st->message : "no message");
		break;
	}
}
