/* aws-probe: drives lib/aws/sts.c and lib/aws/ssm_api.c against a given endpoint and prints the
 * parsed result as one JSON object, for tests against a second AWS implementation.
 *
 *   aws-probe assume-role-with-web-identity --endpoint URL --role-arn ARN --sub SUB
 *             [--duration S]                          (id_token on stdin)
 *   aws-probe describe-instance-information --endpoint URL --region R --instance-id ID
 *   aws-probe start-session --endpoint URL --region R --target ID [--reason T] [--document D]
 *   aws-probe terminate-session --endpoint URL --region R --session-id ID
 *
 * The SSM commands read their credentials as JSON on stdin:
 *   {"AccessKeyId":"…","SecretAccessKey":"…","SessionToken":"…"}
 * Nothing is taken from AWS_* variables. Exit 0 on success; 1 with
 * {"ok":false,"error":{code,message,httpStatus},"product":{code,status,retryable}}. */
#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/aws_errors.h"
#include "core/buf.h"
#include "aws/ssm_api.h"
#include "aws/sts.h"

struct options {
	const char *command, *endpoint, *region, *role_arn, *sub, *instance_id, *target,
		*reason, *document, *session_id, *ca_file;
	int duration;
};

static int usage(void)
{
	fprintf(stderr, "usage: aws-probe assume-role-with-web-identity|describe-instance-information|"
			"start-session|terminate-session --endpoint URL [options]\n");
	return 2;
}

static char *read_stdin(void)
{
	struct buf b;
	char chunk[4096];
	size_t n;

	buf_init(&b, 64 * 1024);
	while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
		if (buf_append(&b, chunk, n) != 0) {
			buf_free(&b);
			return NULL;
		}
	/* A trailing newline is not part of a token. */
	while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
		b.data[--b.len] = '\0';
	return buf_steal(&b);
}

static int print_json(json_t *o, int rc)
{
	char *s = json_dumps(o, JSON_COMPACT);

	puts(s ? s : "{}");
	free(s);
	json_decref(o);
	return rc;
}

static int fail(enum aws_operation op, const struct aws_error *e, const char *err)
{
	struct product_error p = aws_error_classify(op, e);

	return print_json(json_pack("{s:b,s:s,s:{s:s,s:s,s:I},s:{s:s,s:i,s:b}}", "ok", 0,
				    "message", err, "error", "code", e->code, "message", e->message,
				    "httpStatus", (json_int_t)e->http_status, "product", "code", p.code,
				    "status", p.http_status, "retryable", p.retryable),
			  1);
}

static int assume(const struct options *o)
{
	char name[STS_ROLE_SESSION_NAME_MAX + 1], err[1024];
	char *token = read_stdin();
	struct sts_assume_request req = {
		.endpoint = o->endpoint, .role_arn = o->role_arn, .role_session_name = name,
		.web_identity_token = token, .duration_seconds = o->duration, .ca_file = o->ca_file,
	};
	struct sts_assumed_role r;
	struct aws_error e;
	int rc;

	sts_role_session_name(o->sub, name);
	if (sts_assume_role_with_web_identity(&req, &r, &e, err, sizeof err) != 0) {
		free(token);
		return fail(AWS_OP_STS_ASSUME_ROLE_WITH_WEB_IDENTITY, &e, err);
	}
	rc = print_json(json_pack("{s:b,s:s,s:{s:s,s:s,s:s,s:s},s:I,s:s,s:s,s:s,s:s,s:s}",
				  "ok", 1, "roleSessionName", name, "credentials",
				  "AccessKeyId", r.creds.access_key_id,
				  "SecretAccessKey", r.creds.secret_access_key,
				  "SessionToken", r.creds.session_token, "Expiration", r.expiration,
				  "expirationUnix", (json_int_t)r.expiration_unix,
				  "assumedRoleArn", r.assumed_role_arn,
				  "assumedRoleId", r.assumed_role_id,
				  "subjectFromWebIdentityToken", r.subject_from_web_identity_token,
				  "audience", r.audience, "provider", r.provider),
			0);
	sts_assumed_role_free(&r);
	free(token);
	return rc;
}

/* Credentials from stdin JSON; 0 or -1. */
static int read_credentials(struct aws_credentials *c)
{
	char *text = read_stdin();
	json_error_t jerr;
	json_t *j = text ? json_loads(text, 0, &jerr) : NULL;
	struct aws_credentials view = {
		(char *)json_string_value(json_object_get(j, "AccessKeyId")),
		(char *)json_string_value(json_object_get(j, "SecretAccessKey")),
		(char *)json_string_value(json_object_get(j, "SessionToken")),
	};
	int rc = view.access_key_id && view.secret_access_key ? aws_credentials_copy(c, &view) : -1;

	json_decref(j);
	free(text);
	return rc;
}

static int ssm(const struct options *o)
{
	struct aws_credentials creds = { 0 };
	struct ssm_client c = { .endpoint = o->endpoint, .region = o->region, .creds = &creds,
				.ca_file = o->ca_file };
	struct aws_error e;
	char err[1024];
	int rc;

	if (read_credentials(&creds) != 0) {
		fprintf(stderr, "aws-probe: credentials JSON expected on stdin\n");
		return 2;
	}
	if (!strcmp(o->command, "describe-instance-information")) {
		struct ssm_instance_info i;

		if (ssm_describe_instance(&c, o->instance_id, &i, &e, err, sizeof err) != 0) {
			rc = fail(AWS_OP_SSM_DESCRIBE_INSTANCE_INFORMATION, &e, err);
		} else {
			rc = print_json(json_pack("{s:b,s:b,s:b,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:f}",
						  "ok", 1, "found", i.found, "agentOnline", ssm_instance_online(&i),
						  "instanceId", i.instance_id, "pingStatus", i.ping_status,
						  "platformType", i.platform_type, "platformName", i.platform_name,
						  "platformVersion", i.platform_version,
						  "agentVersion", i.agent_version, "ipAddress", i.ip_address,
						  "computerName", i.computer_name, "resourceType", i.resource_type,
						  "isLatestVersion", i.is_latest_version,
						  "lastPingDateTime", i.last_ping_date_time),
					0);
			ssm_instance_info_free(&i);
		}
	} else if (!strcmp(o->command, "start-session")) {
		struct ssm_started_session s;

		if (ssm_start_session(&c, o->target, o->document, o->reason, &s, &e, err, sizeof err) != 0) {
			rc = fail(AWS_OP_SSM_START_SESSION, &e, err);
		} else {
			rc = print_json(json_pack("{s:b,s:s,s:s,s:s}", "ok", 1, "sessionId", s.session_id,
						  "tokenValue", s.token_value, "streamUrl", s.stream_url),
					0);
			ssm_started_session_free(&s);
		}
	} else {
		if (ssm_terminate_session(&c, o->session_id, &e, err, sizeof err) != 0)
			rc = fail(AWS_OP_SSM_TERMINATE_SESSION, &e, err);
		else
			rc = print_json(json_pack("{s:b,s:s}", "ok", 1, "sessionId", o->session_id), 0);
	}
	aws_credentials_clear(&creds);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "endpoint", required_argument, NULL, 'e' },
		{ "region", required_argument, NULL, 'r' },
		{ "role-arn", required_argument, NULL, 'a' },
		{ "sub", required_argument, NULL, 's' },
		{ "duration", required_argument, NULL, 'd' },
		{ "instance-id", required_argument, NULL, 'i' },
		{ "target", required_argument, NULL, 't' },
		{ "reason", required_argument, NULL, 'R' },
		{ "document", required_argument, NULL, 'D' },
		{ "session-id", required_argument, NULL, 'S' },
		{ "ca-file", required_argument, NULL, 'c' },
		{ 0 },
	};
	struct options o = { .region = "us-east-1" };
	int ch, rc;

	if (argc < 2)
		return usage();
	o.command = argv[1];
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'e': o.endpoint = optarg; break;
		case 'r': o.region = optarg; break;
		case 'a': o.role_arn = optarg; break;
		case 's': o.sub = optarg; break;
		case 'd': o.duration = atoi(optarg); break;
		case 'i': o.instance_id = optarg; break;
		case 't': o.target = optarg; break;
		case 'R': o.reason = optarg; break;
		case 'D': o.document = optarg; break;
		case 'S': o.session_id = optarg; break;
		case 'c': o.ca_file = optarg; break;
		default: return usage();
		}
	}
	if (!o.endpoint)
		return usage();
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 2;
	xmlInitParser();
	if (!strcmp(o.command, "assume-role-with-web-identity"))
		rc = assume(&o);
	else if (!strcmp(o.command, "describe-instance-information") ||
		 !strcmp(o.command, "start-session") || !strcmp(o.command, "terminate-session"))
		rc = ssm(&o);
	else
		rc = usage();
	xmlCleanupParser();
	curl_global_cleanup();
	return rc;
}
