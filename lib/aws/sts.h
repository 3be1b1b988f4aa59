/* STS AssumeRoleWithWebIdentity over the Query API (ssm-protocol.md §B,
 * periscope-node-shell.md §2.4). The call is unsigned: the id_token is the credential, so
 * no AWS key of any kind is read or sent. */
#ifndef PERISCOPE_STS_H
#define PERISCOPE_STS_H

#include "metrics/upstream_tally.h"
#include <stddef.h>

#include "aws/aws_errors.h"
#include "aws/sts_xml.h"

#define STS_ROLE_SESSION_NAME_MAX 64

struct sts_assume_request {
	const char *endpoint;            /* full URL, e.g. "https://sts.us-east-1.amazonaws.com" */
	const char *role_arn;
	const char *role_session_name;   /* already sanitised (sts_role_session_name) */
	const char *web_identity_token;  /* the OIDC id_token; never logged */
	int duration_seconds;            /* 900..43200, or 0 to let STS use the role default */
	const char *ca_file;             /* NULL = system CAs */
	long timeout_ms;                 /* 0 = default */
	int max_attempts;                /* 0 = AWS_RETRY_MAX_ATTEMPTS (throttling, IDP
	                                  * communication errors, 5xx, broken connections) */
	struct upstream_tally *tally;    /* each attempt counted (service sts), or NULL */
};

/* "https://sts.<region>.amazonaws.com" (".amazonaws.com.cn" for cn-* regions) into out.
 * 0, or -1 when the region is not [a-z0-9-]+ or out is too small. */
int sts_default_endpoint(const char *region, char *out, size_t outlen);

/* The RoleSessionName for a user: "periscope-<sub>" with every character outside
 * [A-Za-z0-9_+=,.@-] replaced by '-' (one per UTF-8 character), cut to 64 bytes;
 * "periscope-node-shell" if nothing is left. out must hold 65 bytes. */
void sts_role_session_name(const char *sub, char out[STS_ROLE_SESSION_NAME_MAX + 1]);

/* The raw RoleSessionName sanitiser (the rule above without the prefix). */
void sts_sanitize_session_name(const char *in, char out[STS_ROLE_SESSION_NAME_MAX + 1]);

/* The form body of the request (exactly botocore's encoding); malloc'd or NULL. */
char *sts_build_assume_body(const struct sts_assume_request *req);

/* Performs the call. 0 with out filled; -1 with aerr (AWS's code and message, or
 * Transport / BadResponse) and a one-line err "STS AssumeRoleWithWebIdentity: <code>:
 * <message>" that never holds the token or a credential. */
int sts_assume_role_with_web_identity(const struct sts_assume_request *req,
				      struct sts_assumed_role *out, struct aws_error *aerr,
				      char *err, size_t errlen);

#endif
