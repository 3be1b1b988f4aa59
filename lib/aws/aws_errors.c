#include "aws/aws_errors.h"

#include <stdio.h>
#include <string.h>

void aws_error_set(struct aws_error *e, const char *code, const char *message, long status)
{
	snprintf(e->code, sizeof e->code, "%s", code ? code : "");
	snprintf(e->message, sizeof e->message, "%s", message ? message : "");
	e->http_status = status;
}

void aws_error_normalize_code(const char *raw, char *out, size_t outlen)
{
	const char *start = raw ? raw : "", *hash, *colon;
	size_t len;

	colon = strchr(start, ':');
	len = colon ? (size_t)(colon - start) : strlen(start);
	hash = memrchr(start, '#', len);
	if (hash) {
		len -= (size_t)(hash + 1 - start);
		start = hash + 1;
	}
	snprintf(out, outlen, "%.*s", (int)len, start);
}

static bool code_in(const char *code, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(code, *list))
			return true;
	return false;
}

static const char *const throttling_codes[] = {
	"Throttling", "ThrottlingException", "ThrottledException", "RequestLimitExceeded",
	"TooManyRequestsException", "RequestThrottled", "RequestThrottledException", NULL,
};

/* AWS-side faults: worth a retry, and not the user's doing. */
static const char *const server_fault_codes[] = {
	"InternalFailure", "InternalServerError", "InternalError", "ServiceUnavailable",
	"ServiceUnavailableException", "IDPCommunicationError", NULL,
};

/* The SSM credentials (from STS) are not accepted or not allowed to do this. */
static const char *const ssm_forbidden_codes[] = {
	"AccessDeniedException", "AccessDenied", "UnrecognizedClientException",
	"ExpiredTokenException", "InvalidSignatureException", "IncompleteSignatureException",
	"MissingAuthenticationTokenException", "InvalidClientTokenId", "SignatureDoesNotMatch",
	NULL,
};

static const char *const ssm_not_found_codes[] = {
	"InvalidInstanceId", "DoesNotExistException", NULL,
};

static struct product_error make(const char *code, int status, bool retryable)
{
	return (struct product_error){ code, status, retryable };
}

struct product_error aws_error_classify(enum aws_operation op, const struct aws_error *e)
{
	const char *code = e->code;

	if (code_in(code, throttling_codes))
		return make("E_AWS_THROTTLED", 429, true);
	if (!strcmp(code, AWS_ERR_TRANSPORT) || code_in(code, server_fault_codes) ||
	    e->http_status >= 500)
		return make("E_AWS_API", 502, true);
	if (!strcmp(code, AWS_ERR_BAD_RESPONSE))
		return make("E_AWS_API", 502, false);
	if (op == AWS_OP_STS_ASSUME_ROLE_WITH_WEB_IDENTITY)
		/* periscope-node-shell.md §1.3 row 12: STS refusing the id_token means the
		 * role's trust policy (or the token) is wrong. */
		return make("E_NODE_SHELL_TRUST_DENIED", 403, false);
	if (code_in(code, ssm_forbidden_codes))
		return make("E_AWS_FORBIDDEN", 403, false);
	if (code_in(code, ssm_not_found_codes))
		return make("E_AWS_NOT_FOUND", 404, false);
	if (!strcmp(code, "TargetNotConnected"))
		return make("E_NODE_SHELL_TARGET_NOT_CONNECTED", 409, false);
	return make("E_AWS_API", 502, false);
}

void aws_error_format(const struct aws_error *e, char *out, size_t outlen)
{
	if (e->message[0])
		snprintf(out, outlen, "%s: %s", e->code[0] ? e->code : "Error", e->message);
	else
		snprintf(out, outlen, "%s", e->code[0] ? e->code : "Error");
}
