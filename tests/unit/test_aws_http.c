/* The AWS calls over real HTTP against a one-shot loopback server in a thread: what goes
 * on the wire (headers, signature, body), that only the passed-in credentials are used
 * even with canary AWS_* variables set, that proxy variables are ignored, and how
 * errors, oversized answers and timeouts come back. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "aws/aws_http.h"
#include "aws/sigv4.h"
#include "aws/ssm_api.h"
#include "aws/sts.h"
#include "unit.h"

#define REQ_MAX (256 * 1024)

struct fake_server {
	int listen_fd;
	int port;
	pthread_t thread;
	int status;               /* answer */
	const char *content_type;
	const char *body;
	size_t body_len;
	int hang_ms;              /* wait this long before answering (timeouts) */
	char request[REQ_MAX];    /* what the client sent, NUL-terminated */
	size_t request_len;
};

static void *serve_one(void *arg)
{
	struct fake_server *s = arg;
	int fd = accept(s->listen_fd, NULL, NULL);
	size_t need = 0;
	char head[512];

	if (fd < 0)
		return NULL;
	/* Read headers, then Content-Length bytes of body. */
	while (s->request_len < REQ_MAX - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;
		char *end;

		if (poll(&p, 1, 5000) <= 0)
			break;
		n = read(fd, s->request + s->request_len, REQ_MAX - 1 - s->request_len);
		if (n <= 0)
			break;
		s->request_len += (size_t)n;
		s->request[s->request_len] = '\0';
		end = strstr(s->request, "\r\n\r\n");
		if (end && !need) {
			const char *cl = strcasestr(s->request, "\r\nContent-Length:");

			need = (size_t)(end + 4 - s->request) + (cl ? strtoul(cl + 17, NULL, 10) : 0);
		}
		if (need && s->request_len >= need)
			break;
	}
	if (s->hang_ms)
		poll(NULL, 0, s->hang_ms);
	snprintf(head, sizeof head,
		 "HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		 "x-amzn-RequestId: req-1\r\nConnection: close\r\n\r\n",
		 s->status, s->content_type, s->body_len);
	/* The client may have given up already (timeouts, size limit): no SIGPIPE. */
	if (send(fd, head, strlen(head), MSG_NOSIGNAL) < 0 ||
	    send(fd, s->body, s->body_len, MSG_NOSIGNAL) < 0)
		fprintf(stderr, "# fake server: the client closed first\n");
	close(fd);
	return NULL;
}

static struct fake_server *start_server(int status, const char *content_type, const char *body)
{
	struct fake_server *s = calloc(1, sizeof *s);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;

	ck_assert_ptr_nonnull(s);
	s->status = status;
	s->content_type = content_type;
	s->body = body;
	s->body_len = strlen(body);
	s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(s->listen_fd, 0);
	ck_assert_int_eq(bind(s->listen_fd, (struct sockaddr *)&a, sizeof a), 0);
	ck_assert_int_eq(listen(s->listen_fd, 4), 0);
	ck_assert_int_eq(getsockname(s->listen_fd, (struct sockaddr *)&a, &len), 0);
	s->port = ntohs(a.sin_port);
	return s;
}

static void run_server(struct fake_server *s)
{
	ck_assert_int_eq(pthread_create(&s->thread, NULL, serve_one, s), 0);
}

static void stop_server(struct fake_server *s)
{
	pthread_join(s->thread, NULL);
	close(s->listen_fd);
	free(s);
}

/* The value of a request header, copied; "" when absent. */
static void header(const struct fake_server *s, const char *name, char *out, size_t outlen)
{
	char needle[128];
	const char *p, *end;

	snprintf(needle, sizeof needle, "\r\n%s: ", name);
	p = strcasestr(s->request, needle);
	if (!p) {
		snprintf(out, outlen, "%s", "");
		return;
	}
	p += strlen(needle);
	end = strstr(p, "\r\n");
	snprintf(out, outlen, "%.*s", (int)(end - p), p);
}

static const char *request_body(const struct fake_server *s)
{
	const char *b = strstr(s->request, "\r\n\r\n");

	return b ? b + 4 : "";
}

/* Canary credentials and proxies in the environment: neither may be used. */
static void poison_environment(void)
{
	setenv("AWS_ACCESS_KEY_ID", "AKIACANARYCANARYXXXX", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "canarycanarycanarycanarycanarycanary0000", 1);
	setenv("AWS_SESSION_TOKEN", "CANARYSESSIONTOKEN", 1);
	setenv("AWS_PROFILE", "canary", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/canary", 1);
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/canary", 1);
	setenv("http_proxy", "http://127.0.0.1:1", 1);
	setenv("HTTP_PROXY", "http://127.0.0.1:1", 1);
	setenv("ALL_PROXY", "http://127.0.0.1:1", 1);
}

static struct aws_credentials passed_creds = {
	"ASIAPASSEDINKEY00001", "passedInSecretKeyPassedInSecretKey00000", "PASSEDINSESSIONTOKEN",
};

static void client_for(const struct fake_server *s, struct ssm_client *c, char *url, size_t len)
{
	snprintf(url, len, "http://127.0.0.1:%d/", s->port);
	memset(c, 0, sizeof *c);
	c->endpoint = url;
	c->region = "eu-west-1";
	c->creds = &passed_creds;
	c->timeout_ms = 5000;
	c->fixed_time = 1440938160; /* 2015-08-30T12:36:00Z */
}

static void assert_wire_request(void)
{
	struct fake_server *s = start_server(200, "application/x-amz-json-1.1",
					     "{\"InstanceInformationList\":[]}");
	struct ssm_client c;
	struct ssm_instance_info info;
	struct aws_error aerr;
	struct sigv4_result want;
	char url[64], err[512] = "", auth[1024], v[512], host[64], e2[128];

	poison_environment();
	client_for(s, &c, url, sizeof url);
	run_server(s);
	ck_assert_msg(ssm_describe_instance(&c, "i-0123456789abcdef0", &info, &aerr, err, sizeof err) == 0,
		      "%s", err);
	pthread_join(s->thread, NULL);
	ck_assert(!info.found);
	ssm_instance_info_free(&info);

	ck_assert_int_eq(strncmp(s->request, "POST / HTTP/1.1\r\n", 17), 0);
	header(s, "Authorization", auth, sizeof auth);
	ck_assert_ptr_nonnull(strstr(auth, "Credential=ASIAPASSEDINKEY00001/20150830/eu-west-1/ssm/aws4_request"));
	ck_assert_ptr_null(strstr(s->request, "CANARY"));
	ck_assert_ptr_null(strstr(s->request, "passedInSecretKey"));
	header(s, "X-Amz-Security-Token", v, sizeof v);
	ck_assert_str_eq(v, "PASSEDINSESSIONTOKEN");
	header(s, "X-Amz-Target", v, sizeof v);
	ck_assert_str_eq(v, "AmazonSSM.DescribeInstanceInformation");
	header(s, "Content-Type", v, sizeof v);
	ck_assert_str_eq(v, "application/x-amz-json-1.1");
	header(s, "X-Amz-Date", v, sizeof v);
	ck_assert_str_eq(v, "20150830T123600Z");
	header(s, "Host", host, sizeof host);
	snprintf(v, sizeof v, "127.0.0.1:%d", s->port);
	ck_assert_str_eq(host, v);
	ck_assert_str_eq(request_body(s), "{\"Filters\":[{\"Key\":\"InstanceIds\",\"Values\":[\"i-0123456789abcdef0\"]}]}");

	/* The signature covers exactly what was sent. */
	{
		const char *body = request_body(s);
		struct sigv4_header h[] = {
			{ "content-type", "application/x-amz-json-1.1" },
			{ "host", host },
			{ "x-amz-target", "AmazonSSM.DescribeInstanceInformation" },
		};
		struct sigv4_request r = { .method = "POST", .path = "/", .headers = h,
					   .header_count = 3, .body = body, .body_len = strlen(body) };
		struct sigv4_signing sig = { .creds = &passed_creds, .region = "eu-west-1",
					     .service = "ssm", .amz_date = "20150830T123600Z" };

		ck_assert_int_eq(sigv4_sign_headers(&r, &sig, &want, e2, sizeof e2), 0);
		ck_assert_str_eq(auth, want.authorization);
		ck_assert_str_eq(want.signed_headers,
				 "content-type;host;x-amz-date;x-amz-security-token;x-amz-target");
		sigv4_result_free(&want);
	}
	stop_server(s);
}

/* Canary AWS_* credentials and dead proxies in the environment: the request still goes
 * straight to the server, signed with the passed-in key only. */
START_TEST(ssm_request_uses_only_passed_in_credentials_and_no_proxy)
{
	assert_wire_request();
}
END_TEST

START_TEST(ssm_error_answer_carries_code_and_message_only)
{
	struct fake_server *s = start_server(400, "application/x-amz-json-1.1",
		"{\"__type\":\"com.amazonaws.ssm#TargetNotConnected\",\"message\":\"i-0123 is not connected.\"}");
	struct ssm_client c;
	struct ssm_started_session sess;
	struct aws_error aerr;
	struct product_error p;
	char url[64], err[512] = "";

	client_for(s, &c, url, sizeof url);
	run_server(s);
	ck_assert_int_eq(ssm_start_session(&c, "i-0123", NULL, "periscope test", &sess, &aerr, err,
					   sizeof err), -1);
	stop_server(s);
	ck_assert_str_eq(aerr.code, "TargetNotConnected");
	ck_assert_int_eq(aerr.http_status, 400);
	ck_assert_str_eq(err, "SSM StartSession: TargetNotConnected: i-0123 is not connected.");
	p = aws_error_classify(AWS_OP_SSM_START_SESSION, &aerr);
	ck_assert_str_eq(p.code, "E_NODE_SHELL_TARGET_NOT_CONNECTED");
	ck_assert_ptr_null(sess.token_value);
}
END_TEST

START_TEST(ssm_start_and_terminate_round_trip)
{
	struct fake_server *s = start_server(200, "application/x-amz-json-1.1",
		"{\"SessionId\":\"alice-0a1b\",\"TokenValue\":\"TOKENVALUE\",\"StreamUrl\":\"wss://x/v1/data-channel/alice-0a1b\"}");
	struct ssm_client c;
	struct ssm_started_session sess;
	struct aws_error aerr;
	char url[64], err[512] = "", v[128];

	client_for(s, &c, url, sizeof url);
	run_server(s);
	ck_assert_msg(ssm_start_session(&c, "i-0123", NULL, "periscope cluster=a node=b actor=c",
					&sess, &aerr, err, sizeof err) == 0, "%s", err);
	pthread_join(s->thread, NULL);
	header(s, "X-Amz-Target", v, sizeof v);
	ck_assert_str_eq(v, "AmazonSSM.StartSession");
	ck_assert_str_eq(request_body(s), "{\"Target\":\"i-0123\",\"Reason\":\"periscope cluster=a node=b actor=c\"}");
	ck_assert_str_eq(sess.session_id, "alice-0a1b");
	ck_assert_str_eq(sess.token_value, "TOKENVALUE");
	close(s->listen_fd);
	free(s);

	s = start_server(200, "application/x-amz-json-1.1", "{\"SessionId\":\"alice-0a1b\"}");
	client_for(s, &c, url, sizeof url);
	run_server(s);
	ck_assert_msg(ssm_terminate_session(&c, sess.session_id, &aerr, err, sizeof err) == 0, "%s", err);
	pthread_join(s->thread, NULL);
	header(s, "X-Amz-Target", v, sizeof v);
	ck_assert_str_eq(v, "AmazonSSM.TerminateSession");
	ck_assert_str_eq(request_body(s), "{\"SessionId\":\"alice-0a1b\"}");
	close(s->listen_fd);
	free(s);
	ssm_started_session_free(&sess);
}
END_TEST

START_TEST(oversized_answer_is_a_transport_error)
{
	char *big = unit_malloc(SSM_JSON_MAX_BYTES + 100);
	struct fake_server *s;
	struct ssm_client c;
	struct ssm_instance_info info;
	struct aws_error aerr;
	char url[64], err[512] = "";

	memset(big, ' ', SSM_JSON_MAX_BYTES + 99);
	big[SSM_JSON_MAX_BYTES + 99] = '\0';
	s = start_server(200, "application/x-amz-json-1.1", big);
	client_for(s, &c, url, sizeof url);
	run_server(s);
	ck_assert_int_eq(ssm_describe_instance(&c, "i-1", &info, &aerr, err, sizeof err), -1);
	stop_server(s);
	ck_assert_str_eq(aerr.code, "Transport");
	ck_assert_ptr_nonnull(strstr(err, "larger than"));
	free(big);
}
END_TEST

START_TEST(a_silent_server_times_out)
{
	struct fake_server *s = start_server(200, "application/x-amz-json-1.1", "{}");
	struct ssm_client c;
	struct ssm_instance_info info;
	struct aws_error aerr;
	char url[64], err[512] = "";

	s->hang_ms = 1500;
	client_for(s, &c, url, sizeof url);
	c.timeout_ms = 300;
	run_server(s);
	ck_assert_int_eq(ssm_describe_instance(&c, "i-1", &info, &aerr, err, sizeof err), -1);
	ck_assert_str_eq(aerr.code, "Transport");
	ck_assert_str_eq(aws_error_classify(AWS_OP_SSM_DESCRIBE_INSTANCE_INFORMATION, &aerr).code,
			 "E_AWS_API");
	stop_server(s);
}
END_TEST

START_TEST(sts_call_is_unsigned_and_parses_the_answer)
{
	static const char answer[] =
		"<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
		"<AssumeRoleWithWebIdentityResult><SubjectFromWebIdentityToken>auth0|abc</SubjectFromWebIdentityToken>"
		"<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/r/periscope-auth0-abc</Arn>"
		"<AssumedRoleId>AROA1:periscope-auth0-abc</AssumedRoleId></AssumedRoleUser>"
		"<Credentials><AccessKeyId>ASIA1</AccessKeyId><SecretAccessKey>S</SecretAccessKey>"
		"<SessionToken>T</SessionToken><Expiration>2030-01-01T00:00:00.123Z</Expiration></Credentials>"
		"</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>";
	struct fake_server *s = start_server(200, "text/xml", answer);
	struct sts_assumed_role r;
	struct aws_error aerr;
	char url[64], err[512] = "", v[256];
	struct sts_assume_request req = {
		.endpoint = url, .role_arn = "arn:aws:iam::123456789012:role/r",
		.role_session_name = "periscope-auth0-abc", .web_identity_token = "eyJhbGciOi.x.y",
		.timeout_ms = 5000,
	};

	poison_environment();
	snprintf(url, sizeof url, "http://127.0.0.1:%d", s->port);
	run_server(s);
	ck_assert_msg(sts_assume_role_with_web_identity(&req, &r, &aerr, err, sizeof err) == 0, "%s", err);
	pthread_join(s->thread, NULL);
	header(s, "Authorization", v, sizeof v);
	ck_assert_str_eq(v, "");
	ck_assert_ptr_null(strstr(s->request, "CANARY"));
	header(s, "Content-Type", v, sizeof v);
	ck_assert_str_eq(v, "application/x-www-form-urlencoded; charset=utf-8");
	ck_assert_str_eq(request_body(s), "Action=AssumeRoleWithWebIdentity&Version=2011-06-15"
		"&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr"
		"&RoleSessionName=periscope-auth0-abc&WebIdentityToken=eyJhbGciOi.x.y");
	ck_assert_str_eq(r.creds.access_key_id, "ASIA1");
	ck_assert_str_eq(r.assumed_role_arn, "arn:aws:sts::123456789012:assumed-role/r/periscope-auth0-abc");
	ck_assert_int_eq(r.expiration_unix, 1893456000LL);
	sts_assumed_role_free(&r);
	close(s->listen_fd);
	free(s);
}
END_TEST

START_TEST(sts_refusal_maps_to_trust_denied_without_the_token)
{
	static const char answer[] =
		"<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>"
		"<Message>Token eyJSECRETTOKEN is bad</Message></Error></ErrorResponse>";
	struct fake_server *s = start_server(400, "text/xml", answer);
	struct sts_assumed_role r;
	struct aws_error aerr;
	char url[64], err[512] = "";
	struct sts_assume_request req = {
		.endpoint = url, .role_arn = "arn:aws:iam::123456789012:role/r",
		.role_session_name = "periscope-x", .web_identity_token = "eyJSECRETTOKEN",
	};

	snprintf(url, sizeof url, "http://127.0.0.1:%d", s->port);
	run_server(s);
	ck_assert_int_eq(sts_assume_role_with_web_identity(&req, &r, &aerr, err, sizeof err), -1);
	stop_server(s);
	ck_assert_str_eq(aerr.code, "InvalidIdentityToken");
	ck_assert_int_eq(aerr.http_status, 400);
	ck_assert_ptr_null(strstr(err, "SECRETTOKEN"));
	ck_assert_ptr_nonnull(strstr(err, "STS AssumeRoleWithWebIdentity: InvalidIdentityToken"));
	ck_assert_str_eq(aws_error_classify(AWS_OP_STS_ASSUME_ROLE_WITH_WEB_IDENTITY, &aerr).code,
			 "E_NODE_SHELL_TRUST_DENIED");
	ck_assert_ptr_null(r.creds.access_key_id);
}
END_TEST

START_TEST(refused_connection_is_a_transport_error)
{
	struct fake_server *s = start_server(200, "text/xml", "");
	struct sts_assumed_role r;
	struct aws_error aerr;
	char url[64], err[512] = "";
	struct sts_assume_request req = {
		.endpoint = url, .role_arn = "arn:aws:iam::123456789012:role/r",
		.role_session_name = "periscope-x", .web_identity_token = "eyJSECRET",
	};

	/* A port that was just free and is now closed. */
	snprintf(url, sizeof url, "http://127.0.0.1:%d", s->port);
	close(s->listen_fd);
	free(s);
	ck_assert_int_eq(sts_assume_role_with_web_identity(&req, &r, &aerr, err, sizeof err), -1);
	ck_assert_str_eq(aerr.code, "Transport");
	ck_assert_str_eq(aws_error_classify(AWS_OP_STS_ASSUME_ROLE_WITH_WEB_IDENTITY, &aerr).code,
			 "E_AWS_API");
	ck_assert_ptr_null(strstr(err, "SECRET"));
}
END_TEST

START_TEST(credentials_that_would_split_a_header_are_refused_before_sending)
{
	struct aws_credentials bad = { "ASIA1", "secret", "tok\r\nX-Evil: 1" };
	struct ssm_client c = { .endpoint = "http://127.0.0.1:1/", .region = "us-east-1",
				.creds = &bad };
	struct aws_error aerr;
	char err[256] = "";

	ck_assert_int_eq(ssm_terminate_session(&c, "s-1", &aerr, err, sizeof err), -1);
	ck_assert_str_eq(aerr.code, "InvalidParameter");
	ck_assert_ptr_null(strstr(err, "X-Evil"));
}
END_TEST

START_TEST(endpoints_parse_into_host_header_and_path)
{
	struct aws_endpoint e;
	char err[256];

	ck_assert_int_eq(aws_endpoint_parse("https://ssm.us-east-1.amazonaws.com", &e, err, sizeof err), 0);
	ck_assert_str_eq(e.host_header, "ssm.us-east-1.amazonaws.com");
	ck_assert_str_eq(e.path, "/");
	aws_endpoint_free(&e);
	ck_assert_int_eq(aws_endpoint_parse("https://ssm.example:443/", &e, err, sizeof err), 0);
	ck_assert_str_eq(e.host_header, "ssm.example");
	aws_endpoint_free(&e);
	ck_assert_int_eq(aws_endpoint_parse("http://127.0.0.1:8443/aws/ssm", &e, err, sizeof err), 0);
	ck_assert_str_eq(e.host_header, "127.0.0.1:8443");
	ck_assert_str_eq(e.path, "/aws/ssm");
	aws_endpoint_free(&e);
	ck_assert_int_eq(aws_endpoint_parse("ftp://x/", &e, err, sizeof err), -1);
	ck_assert_int_eq(aws_endpoint_parse("https://u:p@x/", &e, err, sizeof err), -1);
	ck_assert_int_eq(aws_endpoint_parse("https://x/?a=b", &e, err, sizeof err), -1);
	ck_assert_int_eq(aws_endpoint_parse("not a url", &e, err, sizeof err), -1);
}
END_TEST

static Suite *aws_http_suite(void)
{
	Suite *s = suite_create("aws_http");
	TCase *t = tcase_create("aws_http");

	curl_global_init(CURL_GLOBAL_DEFAULT);
	tcase_set_timeout(t, 20);
	tcase_add_test(t, ssm_request_uses_only_passed_in_credentials_and_no_proxy);
	tcase_add_test(t, ssm_error_answer_carries_code_and_message_only);
	tcase_add_test(t, ssm_start_and_terminate_round_trip);
	tcase_add_test(t, oversized_answer_is_a_transport_error);
	tcase_add_test(t, a_silent_server_times_out);
	tcase_add_test(t, sts_call_is_unsigned_and_parses_the_answer);
	tcase_add_test(t, sts_refusal_maps_to_trust_denied_without_the_token);
	tcase_add_test(t, refused_connection_is_a_transport_error);
	tcase_add_test(t, credentials_that_would_split_a_header_are_refused_before_sending);
	tcase_add_test(t, endpoints_parse_into_host_header_and_path);
	suite_add_tcase(s, t);
	return s;
}

UNIT_MAIN(aws_http_suite)
