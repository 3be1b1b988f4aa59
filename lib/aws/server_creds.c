#include "aws/server_creds.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws/sts.h"
#include "core/buf.h"
#include "core/timeutil.h"
#include "net/http_client.h"

#define TOKEN_FILE_MAX 16384
#define CREDS_TIMEOUT_MS 5000
/* botocore's metadata_service_timeout: 1 s (a host that is not on EC2 must not wait). */
#define IMDS_TIMEOUT_MS 1000
/* botocore utils.py InstanceMetadataFetcher: the token TTL header it sends. */
#define IMDS_TOKEN_TTL "21600"

void server_creds_clear(struct server_creds *c)
{
	aws_credentials_clear(&c->creds);
	free(c->arn);
	memset(c, 0, sizeof *c);
}

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static char *read_token_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	size_t n;

	if (!f)
		return NULL;
	data = malloc(TOKEN_FILE_MAX + 1);
	n = data ? fread(data, 1, TOKEN_FILE_MAX + 1, f) : 0;
	fclose(f);
	if (!data || n == 0 || n > TOKEN_FILE_MAX) {
		free(data);
		return NULL;
	}
	data[n] = '\0';
	data[strcspn(data, "\r\n")] = '\0';
	return data;
}

static void wipe(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* {"AccessKeyId","SecretAccessKey","Token","Expiration"}: the shape both the Pod Identity
 * agent and IMDS answer with (botocore ContainerProvider / InstanceMetadataProvider). */
static int parse_credentials_json(const char *body, size_t len, struct server_creds *out,
				  char *err, size_t errlen)
{
	json_t *doc = json_loadb(body, len, 0, NULL);
	const char *ak = json_string_value(json_object_get(doc, "AccessKeyId"));
	const char *sk = json_string_value(json_object_get(doc, "SecretAccessKey"));
	const char *tok = json_string_value(json_object_get(doc, "Token"));
	const char *exp = json_string_value(json_object_get(doc, "Expiration"));
	long long ns;
	int rc = -1;

	if (!ak || !sk || !*ak || !*sk) {
		snprintf(err, errlen, "the answer holds no AccessKeyId and SecretAccessKey");
		goto done;
	}
	if (exp && parse_rfc3339_ns(exp, &ns) != 0) {
		snprintf(err, errlen, "the answer's Expiration is not RFC 3339");
		goto done;
	}
	out->creds.access_key_id = strdup(ak);
	out->creds.secret_access_key = strdup(sk);
	out->creds.session_token = tok ? strdup(tok) : NULL;
	out->expires = exp ? ns / 1000000000LL : 0;
	if (!out->creds.access_key_id || !out->creds.secret_access_key || (tok && !out->creds.session_token)) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	rc = 0;
done:
	json_decref(doc);
	return rc;
}

/* One HTTP exchange; a non-2xx status is an error naming what was asked. */
static int fetch(const char *method, const char *url, const char *const *headers, const char *ca_file,
		 long timeout_ms, struct http_response *rs, const char *what, char *err, size_t errlen)
{
	struct http_request rq = {
		.method = method, .url = url, .headers = headers, .ca_file = ca_file,
		.timeout_ms = timeout_ms, .max_body = 65536,
		.body = strcmp(method, "PUT") == 0 ? "" : NULL,
	};

	if (http_do(&rq, rs, err, errlen) != 0)
		return -1;
	if (rs->status / 100 != 2) {
		snprintf(err, errlen, "%s: HTTP %ld", what, rs->status);
		http_response_free(rs);
		return -1;
	}
	return 0;
}

/* The SDKs send the container token over plain HTTP only to the EKS Pod Identity agent's
 * link-local addresses or loopback (botocore utils.py ContainerMetadataFetcher
 * _ALLOWED_HOSTS / _check_if_whitelisted_host); anything else must be https. */
static int container_uri_allowed(const char *uri)
{
	static const char *const hosts[] = { "http://169.254.170.2/", "http://169.254.170.23/",
					     "http://[fd00:ec2::23]/", "http://127.0.0.1:",
					     "http://127.0.0.1/", "http://localhost:", "http://localhost/",
					     "http://[::1]:", "http://[::1]/" };

	if (strncmp(uri, "https://", 8) == 0)
		return 1;
	for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++)
		if (strncmp(uri, hosts[i], strlen(hosts[i])) == 0)
			return 1;
	return 0;
}

static int from_pod_identity(const struct eks_config *cfg, struct server_creds *out, char *err,
			     size_t errlen)
{
	const char *uri = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	const char *file = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	char *token = NULL, *auth = NULL;
	struct http_response rs;
	int rc = -1;

	if (!uri || !container_uri_allowed(uri)) {
		snprintf(err, errlen, "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https or the Pod "
				      "Identity agent's link-local address, got %.200s", uri ? uri : "nothing");
		return -1;
	}
	/* Read on each fetch: the agent's token file is rotated under us. */
	token = file ? read_token_file(file) : NULL;
	if (file && !token) {
		snprintf(err, errlen, "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %.200s", file);
		return -1;
	}
	if (token && asprintf(&auth, "Authorization: %s", token) < 0) {
		auth = NULL;
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	{
		const char *headers[] = { "Accept: application/json", auth, NULL };
		char ferr[384];

		if (fetch("GET", uri, headers, cfg->ca_file[0] ? cfg->ca_file : NULL, CREDS_TIMEOUT_MS, &rs,
			  "the Pod Identity agent", ferr, sizeof ferr) != 0) {
			snprintf(err, errlen, "EKS Pod Identity: %s", ferr);
			goto done;
		}
	}
	rc = parse_credentials_json(rs.body.data ? rs.body.data : "", rs.body.len, out, err, errlen);
	explicit_bzero(rs.body.data, rs.body.len);
	http_response_free(&rs);
done:
	wipe(token);
	wipe(auth);
	return rc;
}

static int from_irsa(const struct eks_config *cfg, const char *region, struct server_creds *out,
		     char *err, size_t errlen)
{
	const char *role = env("AWS_ROLE_ARN"), *file = env("AWS_WEB_IDENTITY_TOKEN_FILE");
	const char *name = env("AWS_ROLE_SESSION_NAME");
	char endpoint[256], session[STS_ROLE_SESSION_NAME_MAX + 1];
	char *token = read_token_file(file);
	struct sts_assumed_role r = { 0 };
	struct aws_error aerr = { 0 };
	int rc = -1;

	if (!token) {
		snprintf(err, errlen, "cannot read AWS_WEB_IDENTITY_TOKEN_FILE %.200s", file);
		return -1;
	}
	if (cfg->sts_endpoint[0])
		snprintf(endpoint, sizeof endpoint, "%s", cfg->sts_endpoint);
	else if (sts_default_endpoint(region, endpoint, sizeof endpoint) != 0) {
		snprintf(err, errlen, "IRSA: no STS endpoint for region \"%.64s\"", region);
		goto done;
	}
	/* botocore names the session botocore-session-<time> when none is given; a stable
	 * name reads better in CloudTrail. */
	sts_sanitize_session_name(name ? name : "periscope-server", session);
	{
		struct sts_assume_request rq = {
			.endpoint = endpoint, .role_arn = role, .role_session_name = session,
			.web_identity_token = token, .ca_file = cfg->ca_file[0] ? cfg->ca_file : NULL,
		};
		if (sts_assume_role_with_web_identity(&rq, &r, &aerr, err, errlen) != 0)
			goto done;
	}
	out->creds = r.creds;
	memset(&r.creds, 0, sizeof r.creds);
	out->expires = r.expiration_unix;
	out->arn = r.assumed_role_arn;
	r.assumed_role_arn = NULL;
	rc = 0;
done:
	sts_assumed_role_free(&r);
	wipe(token);
	return rc;
}

static int from_imds(const struct eks_config *cfg, struct server_creds *out, char *err, size_t errlen)
{
	struct buf url;
	struct http_response rs;
	char *token = NULL, *auth = NULL, *role = NULL;
	char ferr[384];
	int rc = -1;

	buf_init(&url, 4096);
	/* IMDSv2: a session token first (a PUT, which a forwarded request cannot make). */
	{
		const char *headers[] = { "X-aws-ec2-metadata-token-ttl-seconds: " IMDS_TOKEN_TTL, NULL };
		if (buf_printf(&url, "%s/latest/api/token", cfg->imds_endpoint) != 0 ||
		    fetch("PUT", url.data, headers, NULL, IMDS_TIMEOUT_MS, &rs, "IMDS token", ferr, sizeof ferr) != 0)
			goto fail;
		token = buf_steal(&rs.body);
		http_response_free(&rs);
		if (!token || asprintf(&auth, "X-aws-ec2-metadata-token: %s", token) < 0) {
			auth = NULL;
			snprintf(ferr, sizeof ferr, "IMDS gave no token");
			goto fail;
		}
	}
	{
		const char *headers[] = { auth, NULL };
		buf_reset(&url);
		if (buf_printf(&url, "%s/latest/meta-data/iam/security-credentials/", cfg->imds_endpoint) != 0 ||
		    fetch("GET", url.data, headers, NULL, IMDS_TIMEOUT_MS, &rs, "IMDS role name", ferr, sizeof ferr) != 0)
			goto fail;
		role = buf_steal(&rs.body);
		http_response_free(&rs);
		if (!role || !*role || strpbrk(role, "/?#%") ) {
			snprintf(ferr, sizeof ferr, "the instance has no IAM role (instance profile)");
			goto fail;
		}
		role[strcspn(role, "\r\n")] = '\0';
		buf_reset(&url);
		if (buf_printf(&url, "%s/latest/meta-data/iam/security-credentials/%s", cfg->imds_endpoint,
			       role) != 0 ||
		    fetch("GET", url.data, headers, NULL, IMDS_TIMEOUT_MS, &rs, "IMDS credentials", ferr, sizeof ferr) != 0)
			goto fail;
	}
	rc = parse_credentials_json(rs.body.data ? rs.body.data : "", rs.body.len, out, ferr, sizeof ferr);
	explicit_bzero(rs.body.data, rs.body.len);
	http_response_free(&rs);
	if (rc != 0)
		goto fail;
	goto done;
fail:
	snprintf(err, errlen, "instance profile (IMDSv2 at %.100s): %s", cfg->imds_endpoint, ferr);
done:
	wipe(token);
	wipe(auth);
	free(role);
	buf_free(&url);
	return rc;
}

/* Whether a source's inputs are there (for podIdentity and irsa, their variables; the
 * instance profile is worth asking unless AWS_EC2_METADATA_DISABLED is true, as botocore's
 * InstanceMetadataProvider reads it). */
static int source_configured(enum aws_cred_source s)
{
	const char *off = env("AWS_EC2_METADATA_DISABLED");

	switch (s) {
	case CRED_POD_IDENTITY: return env("AWS_CONTAINER_CREDENTIALS_FULL_URI") != NULL;
	case CRED_IRSA: return env("AWS_ROLE_ARN") && env("AWS_WEB_IDENTITY_TOKEN_FILE");
	default: return !(off && strcasecmp(off, "true") == 0);
	}
}

const char *server_creds_source_present(const struct eks_config *cfg, char *err, size_t errlen)
{
	for (size_t i = 0; i < cfg->sources_count; i++)
		if (source_configured(cfg->sources[i]))
			return aws_cred_source_name(cfg->sources[i]);
	snprintf(err, errlen, "none of eks.credentialSources is set up (podIdentity needs "
			      "AWS_CONTAINER_CREDENTIALS_FULL_URI, irsa AWS_ROLE_ARN and "
			      "AWS_WEB_IDENTITY_TOKEN_FILE, instanceProfile an IMDS not disabled by "
			      "AWS_EC2_METADATA_DISABLED)");
	return NULL;
}

int server_creds_fetch(const struct eks_config *cfg, const char *region, struct server_creds *out,
		       char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < cfg->sources_count; i++) {
		enum aws_cred_source s = cfg->sources[i];
		int rc;

		if (!source_configured(s))
			continue;
		out->source = s;
		rc = s == CRED_POD_IDENTITY ? from_pod_identity(cfg, out, err, errlen)
		     : s == CRED_IRSA       ? from_irsa(cfg, region, out, err, errlen)
					    : from_imds(cfg, out, err, errlen);
		if (rc != 0)
			server_creds_clear(out);
		return rc;
	}
	server_creds_source_present(cfg, err, errlen);
	return -1;
}
