#include "aws/eks_token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/aws_http.h"
#include "core/buf.h"
#include "core/encoding.h"

int eks_token_build(const struct aws_credentials *creds, const char *sts_endpoint,
		    const char *region, const char *cluster_name, time_t now, char **out,
		    char *err, size_t errlen)
{
	static const struct sigv4_param query[] = {
		{ "Action", "GetCallerIdentity" },
		{ "Version", "2011-06-15" },
	};
	struct aws_endpoint ep = { 0 };
	struct sigv4_result sr = { 0 };
	struct buf url;
	char amz_date[17], *b64 = NULL;
	int rc = -1;

	*out = NULL;
	buf_init(&url, 16384);
	if (aws_endpoint_parse(sts_endpoint, &ep, err, errlen) != 0)
		goto done;
	if (sigv4_format_amz_date(now, amz_date) != 0) {
		snprintf(err, errlen, "cannot format the signing date");
		goto done;
	}
	{
		/* The cluster id header is what binds the token to one cluster: the
		 * authenticator refuses a URL that does not sign it. */
		const struct sigv4_header headers[] = {
			{ "host", ep.host_header },
			{ "x-k8s-aws-id", cluster_name },
		};
		const struct sigv4_request rq = {
			.method = "GET", .path = ep.path, .normalize_path = true,
			.query = query, .query_count = 2, .headers = headers, .header_count = 2,
		};
		const struct sigv4_signing sig = {
			.creds = creds, .region = region, .service = "sts", .amz_date = amz_date,
		};
		if (sigv4_presign(&rq, &sig, EKS_TOKEN_PRESIGN_SECONDS, &sr, err, errlen) != 0)
			goto done;
	}
	/* The URL as the SDKs print it: endpoint (no trailing slash) + "/?" + query. */
	if (buf_printf(&url, "%.*s/?%s", (int)(strlen(sts_endpoint) -
					     (sts_endpoint[strlen(sts_endpoint) - 1] == '/')),
		       sts_endpoint, sr.query_string) != 0) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	b64 = b64url_encode(url.data, url.len);
	if (!b64 || asprintf(out, EKS_TOKEN_PREFIX "%s", b64) < 0) {
		*out = NULL;
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	rc = 0;
done:
	if (b64) {
		explicit_bzero(b64, strlen(b64));
		free(b64);
	}
	if (url.data)
		explicit_bzero(url.data, url.len);
	buf_free(&url);
	sigv4_result_free(&sr);
	aws_endpoint_free(&ep);
	return rc;
}
