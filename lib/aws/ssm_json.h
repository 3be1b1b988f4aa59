/* The JSON 1.1 bodies of the SSM calls the node shell makes (ssm-protocol.md §C): request
 * bodies built with Jansson, answers parsed with Jansson. Unknown members are ignored, as
 * AWS adds fields over time. No I/O here (lib/aws/ssm_api.c does the calls). */
#ifndef PERISCOPE_SSM_JSON_H
#define PERISCOPE_SSM_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "aws/aws_errors.h"

#define SSM_JSON_MAX_BYTES (1024 * 1024)

struct ssm_started_session {
	char *session_id;
	char *token_value;   /* a short-lived secret: never logged */
	char *stream_url;
};

/* InstanceInformationList[0] of DescribeInstanceInformation. found is false when the list
 * is empty (the instance is not registered with SSM): not an error. Absent strings are "". */
struct ssm_instance_info {
	bool found;
	char *instance_id;
	char *ping_status;        /* Online | ConnectionLost | Inactive */
	char *platform_type;      /* Linux | Windows | MacOS */
	char *platform_name;      /* "Amazon Linux" */
	char *platform_version;
	char *agent_version;
	char *ip_address;
	char *computer_name;
	char *resource_type;      /* EC2Instance | ManagedInstance */
	bool is_latest_version;
	double last_ping_date_time; /* epoch seconds, 0 when absent */
};

void ssm_started_session_free(struct ssm_started_session *s);
void ssm_instance_info_free(struct ssm_instance_info *i);
/* agent_online of the preflight: PingStatus == "Online". */
bool ssm_instance_online(const struct ssm_instance_info *i);

/* Request bodies (compact JSON, malloc'd) or NULL. document_name and reason may be NULL
 * (omitted). */
char *ssm_start_session_body(const char *target, const char *document_name, const char *reason);
char *ssm_terminate_session_body(const char *session_id);
char *ssm_describe_instance_body(const char *instance_id);

/* 200 answers. 0, or -1 with err (never the token value). */
int ssm_parse_start_session(const char *json, size_t len, struct ssm_started_session *out,
			    char *err, size_t errlen);
/* ResumeSession's answer ({SessionId, TokenValue, StreamUrl}); 0 also when TokenValue is
 * "" (the session is gone: nothing to reconnect to). */
int ssm_parse_resume_session(const char *json, size_t len, struct ssm_started_session *out,
			     char *err, size_t errlen);
int ssm_parse_terminate_session(const char *json, size_t len, char **session_id,
				char *err, size_t errlen);
int ssm_parse_describe_instance(const char *json, size_t len, struct ssm_instance_info *out,
				char *err, size_t errlen);

/* A non-2xx answer: `__type` (else the x-amzn-ErrorType header, else "HTTP<status>")
 * normalised, and `message` or `Message`. Always fills e. */
void ssm_parse_error(const char *json, size_t len, const char *error_type_header,
		     long http_status, struct aws_error *e);

#endif
