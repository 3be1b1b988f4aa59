#include "aws/eks_api.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/aws_errors.h"
#include "aws/aws_http.h"
#include "core/buf.h"
#include "net/http_client.h"

#define EKS_MAX_ANSWER (256 * 1024)
#define EKS_TIMEOUT_MS 10000

void eks_cluster_info_clear(struct eks_cluster_info *i)
{
	free(i->endpoint);
	free(i->ca_data);
	free(i->status);
	memset(i, 0, sizeof *i);
}

int eks_default_endpoint(const char *region, char *out, size_t outlen)
{
	if (!region || !*region || strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(region))
		return -1;
	return snprintf(out, outlen, "https://eks.%s.amazonaws.com%s", region,
			strncmp(region, "cn-", 3) == 0 ? ".cn" : "") < (int)outlen ? 0 : -1;
}

static char *dup_str(json_t *v)
{
	const char *s = json_string_value(v);

	return s ? strdup(s) : NULL;
}

int eks_parse_describe_cluster(const char *body, size_t len, struct eks_cluster_info *out,
			       char *err, size_t errlen)
{
	json_t *doc = json_loadb(body, len, 0, NULL), *c = json_object_get(doc, "cluster");
	int rc = -1;

	memset(out, 0, sizeof *out);
	out->endpoint = dup_str(json_object_get(c, "endpoint"));
	out->ca_data = dup_str(json_object_get(json_object_get(c, "certificateAuthority"), "data"));
	out->status = dup_str(json_object_get(c, "status"));
	if (!out->endpoint || strncmp(out->endpoint, "https://", 8) != 0 || !out->ca_data) {
		snprintf(err, errlen, "eks:DescribeCluster: the answer has no https endpoint and CA "
				      "(cluster status %s)", out->status ? out->status : "unknown");
		eks_cluster_info_clear(out);
		goto done;
	}
	rc = 0;
done:
	json_decref(doc);
	return rc;
}

/* REST-JSON errors: {"message": ...} with the code in x-amzn-ErrorType (botocore
 * parsers.py RestJSONParser._do_error_parse). */
static void describe_error(const struct http_response *rs, char *err, size_t errlen)
{
	json_t *doc = json_loadb(rs->body.data ? rs->body.data : "", rs->body.len, 0, NULL);
	const char *msg = json_string_value(json_object_get(doc, "message"));
	const char *type = json_string_value(json_object_get(doc, "__type"));
	char code[128];

	if (!msg)
		msg = json_string_value(json_object_get(doc, "Message"));
	aws_error_normalize_code(type ? type : "", code, sizeof code);
	snprintf(err, errlen, "eks:DescribeCluster: HTTP %ld%s%s: %.300s", rs->status,
		 *code ? " " : "", code, msg ? msg : "no message");
	json_decref(doc);
}

int eks_describe_cluster(const char *endpoint, const char *region, const char *ca_file,
			 const struct aws_credentials *creds, struct upstream_tally *tally,
			 const char *name, struct eks_cluster_info *out, char *err, size_t errlen)
{
	struct aws_endpoint ep = { 0 };
	struct sigv4_result sr = { 0 };
	struct http_response rs = { 0 };
	struct buf path, url, hhost, hdate, hauth, htok;
	char date[17];
	int rc = -1;

	memset(out, 0, sizeof *out);
	buf_init(&path, 1024);
	buf_init(&url, 2048);
	buf_init(&hhost, 1024);
	buf_init(&hdate, 64);
	buf_init(&hauth, 4096);
	buf_init(&htok, 8192);
	if (strpbrk(name, "/?#%") || aws_endpoint_parse(endpoint, &ep, err, errlen) != 0) {
		if (!*err)
			snprintf(err, errlen, "eks:DescribeCluster: bad cluster name");
		goto done;
	}
	if (buf_printf(&path, "%s%sclusters/%s", ep.path,
		       ep.path[strlen(ep.path) - 1] == '/' ? "" : "/", name) != 0 ||
	    buf_printf(&url, "%.*s%s", (int)strcspn(endpoint + 8, "/") + 8, endpoint, path.data) != 0 ||
	    sigv4_format_amz_date(time(NULL), date) != 0)
		goto oom;
	{
		const struct sigv4_header h[] = { { "host", ep.host_header } };
		const struct sigv4_request rq = { .method = "GET", .path = path.data, .normalize_path = true,
						  .headers = h, .header_count = 1 };
		const struct sigv4_signing sig = { .creds = creds, .region = region, .service = "eks",
						   .amz_date = date };
		if (sigv4_sign_headers(&rq, &sig, &sr, err, errlen) != 0)
			goto done;
	}
	if (buf_printf(&hhost, "Host: %s", ep.host_header) != 0 ||
	    buf_printf(&hdate, "X-Amz-Date: %s", date) != 0 ||
	    buf_printf(&hauth, "Authorization: %s", sr.authorization) != 0 ||
	    (creds->session_token && *creds->session_token &&
	     buf_printf(&htok, "X-Amz-Security-Token: %s", creds->session_token) != 0))
		goto oom;
	{
		const char *headers[] = { hhost.data, hdate.data, hauth.data, "Accept: application/json",
					  htok.data, NULL };
		struct http_request rq = { .url = url.data, .headers = headers, .ca_file = ca_file,
					   .timeout_ms = EKS_TIMEOUT_MS, .max_body = EKS_MAX_ANSWER,
					   .tally = tally, .service = UPSTREAM_EKS };
		char herr[384];

		if (http_do(&rq, &rs, herr, sizeof herr) != 0) {
			snprintf(err, errlen, "eks:DescribeCluster: %s", herr);
			goto done;
		}
	}
	if (rs.status != 200) {
		describe_error(&rs, err, errlen);
		goto done;
	}
	rc = eks_parse_describe_cluster(rs.body.data ? rs.body.data : "", rs.body.len, out, err, errlen);
	goto done;
oom:
	snprintf(err, errlen, "out of memory");
done:
	http_response_free(&rs);
	sigv4_result_free(&sr);
	aws_endpoint_free(&ep);
	if (htok.data)
		explicit_bzero(htok.data, htok.len);
	buf_free(&path);
	buf_free(&url);
	buf_free(&hhost);
	buf_free(&hdate);
	buf_free(&hauth);
	buf_free(&htok);
	return rc;
}
