#include "core/errmsg.h"
#include "aws/ssm_json.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ssm_started_session_free(struct ssm_started_session *s)
{
	if (s->token_value)
		explicit_bzero(s->token_value, strlen(s->token_value));
	free(s->session_id);
	free(s->token_value);
	free(s->stream_url);
	memset(s, 0, sizeof *s);
}

void ssm_instance_info_free(struct ssm_instance_info *i)
{
	free(i->instance_id);
	free(i->ping_status);
	free(i->platform_type);
	free(i->platform_name);
	free(i->platform_version);
	free(i->agent_version);
	free(i->ip_address);
	free(i->computer_name);
	free(i->resource_type);
	memset(i, 0, sizeof *i);
}

bool ssm_instance_online(const struct ssm_instance_info *i)
{
	return i->found && i->ping_status && !strcmp(i->ping_status, "Online");
}

static char *dump(json_t *obj)
{
	char *s = obj ? json_dumps(obj, JSON_COMPACT) : NULL;

	json_decref(obj);
	return s;
}

/* json_object_set_new that also fails on a NULL value (json_string of invalid UTF-8). */
static int put(json_t *obj, const char *key, json_t *value)
{
	return value ? json_object_set_new(obj, key, value) : -1;
}

char *ssm_start_session_body(const char *target, const char *document_name, const char *reason)
{
	json_t *o = json_object();

	if (!o || !target || !*target || put(o, "Target", json_string(target)) != 0)
		goto fail;
	if (document_name && *document_name &&
	    put(o, "DocumentName", json_string(document_name)) != 0)
		goto fail;
	if (reason && *reason && put(o, "Reason", json_string(reason)) != 0)
		goto fail;
	return dump(o);
fail:
	json_decref(o);
	return NULL;
}

char *ssm_terminate_session_body(const char *session_id)
{
	json_t *o = json_object();

	if (!o || !session_id || !*session_id || put(o, "SessionId", json_string(session_id)) != 0) {
		json_decref(o);
		return NULL;
	}
	return dump(o);
}

char *ssm_describe_instance_body(const char *instance_id)
{
	json_t *id = instance_id && *instance_id ? json_string(instance_id) : NULL;

	if (!id)
		return NULL;
	return dump(json_pack("{s:[{s:s,s:[o]}]}", "Filters", "Key", "InstanceIds", "Values", id));
}

static json_t *load(const char *json, size_t len, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root;

	if (!json || len > SSM_JSON_MAX_BYTES) {
		set_err(err, errlen, "SSM answer missing or too large");
		return NULL;
	}
	root = json_loadb(json, len, 0, &jerr);
	if (!json_is_object(root)) {
		json_decref(root);
		set_err(err, errlen, "SSM answer is not a JSON object");
		return NULL;
	}
	return root;
}

/* A string member copied, "" when absent or null; -1 when present with another type. */
static int get_string(json_t *obj, const char *key, char **out)
{
	json_t *v = json_object_get(obj, key);

	if (v && !json_is_null(v) && !json_is_string(v))
		return -1;
	*out = strdup(json_is_string(v) ? json_string_value(v) : "");
	return *out ? 0 : -1;
}

int ssm_parse_start_session(const char *json, size_t len, struct ssm_started_session *out,
			    char *err, size_t errlen)
{
	json_t *root = load(json, len, err, errlen);

	memset(out, 0, sizeof *out);
	if (!root)
		return -1;
	if (get_string(root, "SessionId", &out->session_id) != 0 ||
	    get_string(root, "TokenValue", &out->token_value) != 0 ||
	    get_string(root, "StreamUrl", &out->stream_url) != 0) {
		set_err(err, errlen, "StartSession answer has a member of the wrong type");
		goto fail;
	}
	/* periscope-node-shell.md §2.6: without both the data channel cannot open. */
	if (!*out->session_id || !*out->token_value || !*out->stream_url) {
		set_err(err, errlen, "incomplete StartSession answer (SessionId, TokenValue or "
				     "StreamUrl missing)");
		goto fail;
	}
	json_decref(root);
	return 0;
fail:
	json_decref(root);
	ssm_started_session_free(out);
	return -1;
}

int ssm_parse_resume_session(const char *json, size_t len, struct ssm_started_session *out,
			     char *err, size_t errlen)
{
	json_t *root = load(json, len, err, errlen);

	memset(out, 0, sizeof *out);
	if (!root)
		return -1;
	if (get_string(root, "SessionId", &out->session_id) != 0 ||
	    get_string(root, "TokenValue", &out->token_value) != 0 ||
	    get_string(root, "StreamUrl", &out->stream_url) != 0) {
		set_err(err, errlen, "ResumeSession answer has a member of the wrong type");
		goto fail;
	}
	/* An empty TokenValue is an answer: the session timed out (the plugin's
	 * ResumeSessionHandler ends there). A token without a URL is not. */
	if (*out->token_value && !*out->stream_url) {
		set_err(err, errlen, "incomplete ResumeSession answer (StreamUrl missing)");
		goto fail;
	}
	json_decref(root);
	return 0;
fail:
	json_decref(root);
	ssm_started_session_free(out);
	return -1;
}

int ssm_parse_terminate_session(const char *json, size_t len, char **session_id,
				char *err, size_t errlen)
{
	json_t *root = load(json, len, err, errlen);
	int rc = -1;

	*session_id = NULL;
	if (!root)
		return -1;
	if (get_string(root, "SessionId", session_id) != 0) {
		set_err(err, errlen, "TerminateSession answer has a SessionId of the wrong type");
		free(*session_id);
		*session_id = NULL;
	} else {
		rc = 0;
	}
	json_decref(root);
	return rc;
}

int ssm_parse_describe_instance(const char *json, size_t len, struct ssm_instance_info *out,
				char *err, size_t errlen)
{
	json_t *root = load(json, len, err, errlen), *list, *first, *v;

	memset(out, 0, sizeof *out);
	if (!root)
		return -1;
	list = json_object_get(root, "InstanceInformationList");
	if (list && !json_is_array(list) && !json_is_null(list)) {
		set_err(err, errlen, "InstanceInformationList is not a list");
		goto fail;
	}
	first = json_array_get(list, 0);
	if (first && !json_is_object(first)) {
		set_err(err, errlen, "InstanceInformationList holds a non-object");
		goto fail;
	}
	out->found = first != NULL;
	if (get_string(first, "InstanceId", &out->instance_id) != 0 ||
	    get_string(first, "PingStatus", &out->ping_status) != 0 ||
	    get_string(first, "PlatformType", &out->platform_type) != 0 ||
	    get_string(first, "PlatformName", &out->platform_name) != 0 ||
	    get_string(first, "PlatformVersion", &out->platform_version) != 0 ||
	    get_string(first, "AgentVersion", &out->agent_version) != 0 ||
	    get_string(first, "IPAddress", &out->ip_address) != 0 ||
	    get_string(first, "ComputerName", &out->computer_name) != 0 ||
	    get_string(first, "ResourceType", &out->resource_type) != 0) {
		set_err(err, errlen, "InstanceInformation has a member of the wrong type");
		goto fail;
	}
	out->is_latest_version = json_is_true(json_object_get(first, "IsLatestVersion"));
	/* Timestamps are epoch seconds as numbers (possibly fractional or in exponent form,
	 * which Jansson reads as a real). */
	v = json_object_get(first, "LastPingDateTime");
	out->last_ping_date_time = json_is_number(v) ? json_number_value(v) : 0;
	json_decref(root);
	return 0;
fail:
	json_decref(root);
	ssm_instance_info_free(out);
	return -1;
}

void ssm_parse_error(const char *json, size_t len, const char *error_type_header,
		     long http_status, struct aws_error *e)
{
	json_error_t jerr;
	json_t *root = json && len && len <= SSM_JSON_MAX_BYTES ? json_loadb(json, len, 0, &jerr) : NULL;
	const char *type = json_string_value(json_object_get(root, "__type"));
	const char *message = json_string_value(json_object_get(root, "message"));
	char code[sizeof e->code], fallback[32];

	if (!message)
		message = json_string_value(json_object_get(root, "Message"));
	if (!type || !*type)
		type = error_type_header && *error_type_header ? error_type_header : NULL;
	if (!type) {
		snprintf(fallback, sizeof fallback, "HTTP%ld", http_status);
		type = fallback;
	}
	aws_error_normalize_code(type, code, sizeof code);
	aws_error_set(e, code, message ? message : "", http_status);
	json_decref(root);
}
