/* AWS error answers (STS XML, SSM JSON, transport failures) in one shape, and their
 * mapping to the product's E_* codes and HTTP statuses (periscope-common.md §7,
 * periscope-node-shell.md §1.3). Messages hold AWS's code and message only: never a key,
 * a session token or an id_token. */
#ifndef PERISCOPE_AWS_ERRORS_H
#define PERISCOPE_AWS_ERRORS_H

#include <stdbool.h>
#include <stddef.h>

/* Codes this client uses when AWS itself gave none. */
#define AWS_ERR_TRANSPORT "Transport"       /* connect/TLS/timeout/too large */
#define AWS_ERR_BAD_RESPONSE "BadResponse"  /* a 2xx answer we could not parse */

struct aws_error {
	char code[128];     /* AWS code, normalised ("TargetNotConnected"), or one above */
	char message[512];  /* AWS's message text, may be "" */
	long http_status;   /* the answer's status; 0 when no answer arrived */
};

void aws_error_set(struct aws_error *e, const char *code, const char *message, long status);

/* Cuts a JSON 1.1 `__type` / x-amzn-ErrorType to the bare code the way botocore does:
 * everything from the first ':' goes, and everything up to the last '#'.
 * "com.amazonaws.ssm#TargetNotConnected" -> "TargetNotConnected". */
void aws_error_normalize_code(const char *raw, char *out, size_t outlen);

/* Which call failed: the same AWS code means different things for the product. */
enum aws_operation {
	AWS_OP_STS_ASSUME_ROLE_WITH_WEB_IDENTITY,
	AWS_OP_SSM_DESCRIBE_INSTANCE_INFORMATION,
	AWS_OP_SSM_START_SESSION,
	AWS_OP_SSM_TERMINATE_SESSION,
};

struct product_error {
	const char *code;   /* "E_NODE_SHELL_TRUST_DENIED", "E_AWS_THROTTLED", ... (static) */
	int http_status;    /* 403, 429, 502, ... */
	bool retryable;     /* throttling, 5xx and transport failures */
};

/* STS AssumeRoleWithWebIdentity: a refusal of the web identity (AccessDenied,
 * InvalidIdentityToken, ExpiredTokenException, IDPRejectedClaim, validation...) is
 * E_NODE_SHELL_TRUST_DENIED 403; throttling E_AWS_THROTTLED 429; AWS-side faults and
 * transport failures E_AWS_API 502.
 * SSM: credentials refused or not permitted (AccessDeniedException,
 * UnrecognizedClientException, ExpiredTokenException, signature errors) E_AWS_FORBIDDEN
 * 403; ThrottlingException E_AWS_THROTTLED 429; InvalidInstanceId /
 * DoesNotExistException E_AWS_NOT_FOUND 404; TargetNotConnected
 * E_NODE_SHELL_TARGET_NOT_CONNECTED 409; anything else E_AWS_API 502. */
struct product_error aws_error_classify(enum aws_operation op, const struct aws_error *e);

/* "<Code>: <message>" (or just the code) for logs and the `err` extra. */
void aws_error_format(const struct aws_error *e, char *out, size_t outlen);

#endif
