/* Parsing of STS AssumeRoleWithWebIdentity answers (ssm-protocol.md §B.3, §B.4) with
 * libxml2. Documents with a DOCTYPE are refused outright (AWS never sends one), the
 * network is never touched (XML_PARSE_NONET) and entities are never substituted, so
 * external entities and entity expansion bombs are inert. */
#ifndef PERISCOPE_STS_XML_H
#define PERISCOPE_STS_XML_H

#include <stddef.h>

#include "aws/aws_errors.h"
#include "aws/sigv4.h"

#define STS_XML_MAX_BYTES (256 * 1024)

struct sts_assumed_role {
	struct aws_credentials creds;     /* all three present after a successful parse */
	char *expiration;                 /* as sent, ISO-8601 UTC */
	long long expiration_unix;        /* seconds since the epoch */
	char *assumed_role_arn;           /* AssumedRoleUser/Arn */
	char *assumed_role_id;            /* AssumedRoleUser/AssumedRoleId */
	char *subject_from_web_identity_token;
	char *audience;                   /* "" when absent */
	char *provider;                   /* "" when absent */
};

/* Zeroes the secrets and frees everything; safe on a zeroed struct. */
void sts_assumed_role_free(struct sts_assumed_role *r);

/* A 200 answer. 0, or -1 with a message in err (never any of the answer's values). */
int sts_parse_assume_role_response(const char *xml, size_t len, struct sts_assumed_role *out,
				   char *err, size_t errlen);

/* An AWS XML error answer, <ErrorResponse><Error><Code/><Message/></Error></ErrorResponse>
 * (also with an <Errors> level, or a bare <Error>), into e (http_status untouched).
 * -1 when the body is not such a document. */
int sts_parse_error_response(const char *xml, size_t len, struct aws_error *e);

#endif
