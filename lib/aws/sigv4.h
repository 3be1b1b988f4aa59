/* AWS Signature Version 4 (HMAC-SHA256): canonical request, string to sign, signing key,
 * Authorization header, and presigned (query-string) signing.
 *
 * Written here rather than using CURLOPT_AWS_SIGV4 because Debian's libcurl 7.88 signs the
 * query string verbatim (no canonicalisation) and cannot presign (ecosystem-c.md §8).
 * Checked byte for byte against the official test suite in shared/testdata/sigv4/.
 *
 * The only credentials this code ever uses are the ones passed in: it reads no
 * environment variable, profile, file or instance metadata. */
#ifndef PERISCOPE_SIGV4_H
#define PERISCOPE_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* Temporary credentials from STS (or any credentials the caller holds). session_token may
 * be NULL or "" for long-term keys. */
struct aws_credentials {
	char *access_key_id;
	char *secret_access_key;
	char *session_token;
};

/* Zeroes the secret parts before freeing them, then the struct's fields are NULL. */
void aws_credentials_clear(struct aws_credentials *c);
/* Deep copy; 0 or -1 (out of memory). */
int aws_credentials_copy(struct aws_credentials *dst, const struct aws_credentials *src);

struct sigv4_header {
	const char *name;   /* any case; compared case-insensitively */
	const char *value;  /* surrounding whitespace is trimmed, inner runs collapsed */
};

struct sigv4_param {
	const char *name;   /* decoded (raw bytes); the signer URI-encodes */
	const char *value;  /* decoded; NULL is written as "name=" */
};

struct sigv4_request {
	const char *method;                 /* "POST", "GET" */
	const char *path;                   /* decoded path, e.g. "/" */
	bool normalize_path;                /* remove "." / ".." / empty segments (not for S3) */
	const struct sigv4_param *query;    /* decoded query parameters, any order */
	size_t query_count;
	const struct sigv4_header *headers; /* the headers to sign, including Host */
	size_t header_count;
	const void *body;                   /* exact body bytes (NULL with body_len 0: empty) */
	size_t body_len;
};

struct sigv4_signing {
	const struct aws_credentials *creds;
	const char *region;                 /* always explicit, e.g. "us-east-1" */
	const char *service;                /* always explicit, e.g. "ssm" */
	const char *amz_date;               /* YYYYMMDDTHHMMSSZ (sigv4_format_amz_date) */
	/* When true the session token is sent but not signed (the suite's
	 * post-sts-header-after case); botocore signs it, so the default false does too. */
	bool session_token_unsigned;
	/* Header mode only: add and sign x-amz-content-sha256 (S3 style). */
	bool sign_body_hash;
};

struct sigv4_result {
	char *canonical_request;
	char *string_to_sign;
	char *signed_headers;               /* "content-type;host;x-amz-date;..." */
	char signature[65];                 /* lower-case hex */
	char *authorization;                /* header mode: the Authorization header value */
	char *query_string;                 /* presign mode: canonical query + X-Amz-Signature */
	char payload_hash[65];              /* hex SHA-256 of the body */
};

/* "YYYYMMDDTHHMMSSZ" for t in UTC; out must hold 17 bytes. 0 or -1. */
int sigv4_format_amz_date(time_t t, char out[17]);

/* Header signing. The signer adds x-amz-date (and x-amz-security-token when the
 * credentials carry a token and session_token_unsigned is false, and
 * x-amz-content-sha256 when sign_body_hash) to the signed headers; the caller must send
 * those headers with the same values, plus Authorization: <result.authorization>.
 * 0, or -1 with a message in err. Free the result with sigv4_result_free. */
int sigv4_sign_headers(const struct sigv4_request *req, const struct sigv4_signing *sig,
		       struct sigv4_result *out, char *err, size_t errlen);

/* Presigned URL signing: X-Amz-Algorithm, -Credential, -Date, -Expires, -SignedHeaders
 * (and -Security-Token) are added to the query; result.query_string is the full query to
 * put after "?" (already encoded), ending in X-Amz-Signature. */
int sigv4_presign(const struct sigv4_request *req, const struct sigv4_signing *sig,
		  long expires_seconds, struct sigv4_result *out, char *err, size_t errlen);

void sigv4_result_free(struct sigv4_result *r);

/* Strict URI encoding of SigV4 (RFC 3986 unreserved kept, everything else %XX upper-case);
 * keep_slash leaves '/' alone (paths). Returns 0, or -1 if out would exceed its max. */
struct buf;
int sigv4_uri_encode(struct buf *out, const char *s, size_t len, bool keep_slash);

#endif
