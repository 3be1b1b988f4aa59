/* SigV4 against every case of the official test suite (shared/testdata/sigv4/v4, copied
 * from awslabs/aws-c-auth) in both header and presigned-query mode, plus the SSM worked
 * example of ssm-protocol.md §A.7 (which matches botocore). */
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "aws/sigv4.h"
#include "unit.h"

#define MAX_VECTORS 128
#define EXPECTED_VECTORS 38

/* Where the shared test data lives: $PERISCOPE_SHARED_DIR, else <srcdir>/../shared. */
static void vectors_dir(char *out, size_t len)
{
	const char *shared = getenv("PERISCOPE_SHARED_DIR");

	if (shared && *shared)
		snprintf(out, len, "%s/testdata/sigv4/v4", shared);
	else
		snprintf(out, len, "%s/../shared/testdata/sigv4/v4", unit_srcdir());
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The case names, sorted, so loop index i always means the same vector. */
struct vector_list {
	char *names[MAX_VECTORS];
	int count;
	int missing;
};

static struct vector_list list_vectors(void)
{
	struct vector_list l = { .count = 0 };
	char dir[4096];
	DIR *d;
	struct dirent *de;

	vectors_dir(dir, sizeof dir);
	d = opendir(dir);
	if (!d) {
		l.missing = 1;
		return l;
	}
	while ((de = readdir(d)) && l.count < MAX_VECTORS)
		if (de->d_name[0] != '.')
			l.names[l.count++] = strdup(de->d_name);
	closedir(d);
	qsort(l.names, (size_t)l.count, sizeof l.names[0], compare_names);
	return l;
}

static char *read_file(const char *dir, const char *name, const char *file, size_t *len)
{
	char path[4096];
	FILE *f;
	struct buf b;
	char chunk[4096];
	size_t n;

	snprintf(path, sizeof path, "%s/%s/%s", dir, name, file);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	buf_init(&b, 1 << 20);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		ck_assert_int_eq(buf_append(&b, chunk, n), 0);
	fclose(f);
	if (len)
		*len = b.len;
	return buf_steal(&b);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* In place: the suite's request lines carry some query names already %-encoded. */
static void percent_decode(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (r[0] == '%' && hexval(r[1]) >= 0 && hexval(r[2]) >= 0) {
			*w++ = (char)(hexval(r[1]) * 16 + hexval(r[2]));
			r += 2;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

/* request.txt parsed into the signer's input. Strings point into `text`. */
struct parsed_request {
	char *text;
	struct sigv4_request req;
	struct sigv4_header headers[32];
	struct sigv4_param query[32];
	char *header_values[32];  /* folded continuation lines, owned */
};

static void parse_request(char *text, size_t len, struct parsed_request *p)
{
	char *line_end = strchr(text, '\n'), *sp, *proto, *q, *cursor;
	size_t nh = 0, nq = 0;

	memset(p, 0, sizeof *p);
	p->text = text;
	ck_assert_ptr_nonnull(line_end);
	*line_end = '\0';
	sp = strchr(text, ' ');
	proto = strstr(text, " HTTP/");
	ck_assert_ptr_nonnull(sp);
	ck_assert_ptr_nonnull(proto);
	*sp = '\0';
	*proto = '\0';
	p->req.method = text;
	p->req.path = sp + 1;
	q = strchr(sp + 1, '?');
	if (q) {
		char *save = NULL;

		*q = '\0';
		for (char *pair = strtok_r(q + 1, "&", &save); pair; pair = strtok_r(NULL, "&", &save)) {
			char *eq = strchr(pair, '=');

			ck_assert_int_lt(nq, 32);
			if (eq)
				*eq = '\0';
			percent_decode(pair);
			if (eq)
				percent_decode(eq + 1);
			p->query[nq++] = (struct sigv4_param){ pair, eq ? eq + 1 : "" };
		}
	}
	cursor = line_end + 1;
	while (cursor < text + len && *cursor && *cursor != '\n') {
		char *end = strchr(cursor, '\n'), *colon;

		if (end)
			*end = '\0';
		if ((*cursor == ' ' || *cursor == '\t') && nh > 0) {
			/* A continuation line: folds into the previous value with one space. */
			struct buf v;

			buf_init(&v, 1 << 16);
			ck_assert_int_eq(buf_printf(&v, "%s %s", p->headers[nh - 1].value, cursor), 0);
			free(p->header_values[nh - 1]);
			p->header_values[nh - 1] = buf_steal(&v);
			p->headers[nh - 1].value = p->header_values[nh - 1];
		} else {
			colon = strchr(cursor, ':');
			ck_assert_ptr_nonnull(colon);
			ck_assert_int_lt(nh, 32);
			*colon = '\0';
			p->headers[nh++] = (struct sigv4_header){ cursor, colon + 1 };
		}
		if (!end) {
			cursor = text + len;
			break;
		}
		cursor = end + 1;
	}
	if (cursor < text + len && *cursor == '\n') {
		p->req.body = cursor + 1;
		p->req.body_len = (size_t)(text + len - (cursor + 1));
	}
	p->req.headers = p->headers;
	p->req.header_count = nh;
	p->req.query = p->query;
	p->req.query_count = nq;
}

static void free_request(struct parsed_request *p)
{
	for (size_t i = 0; i < 32; i++)
		free(p->header_values[i]);
	free(p->text);
}

/* The context.json of a case: credentials, flags. */
struct vector_context {
	json_t *root;
	struct aws_credentials creds;
	struct sigv4_signing sig;
	long expires;
};

static void load_context(const char *dir, const char *name, struct vector_context *c)
{
	char *text = read_file(dir, name, "context.json", NULL);
	json_error_t jerr;
	json_t *cr;
	const char *ts;
	char date[17] = { 0 };

	ck_assert_ptr_nonnull(text);
	c->root = json_loads(text, 0, &jerr);
	free(text);
	ck_assert_ptr_nonnull(c->root);
	cr = json_object_get(c->root, "credentials");
	c->creds.access_key_id = (char *)json_string_value(json_object_get(cr, "access_key_id"));
	c->creds.secret_access_key =
		(char *)json_string_value(json_object_get(cr, "secret_access_key"));
	c->creds.session_token = (char *)json_string_value(json_object_get(cr, "token"));
	ts = json_string_value(json_object_get(c->root, "timestamp"));
	ck_assert_ptr_nonnull(ts);
	/* 2015-08-30T12:36:00Z -> 20150830T123600Z */
	ck_assert_int_eq(sscanf(ts, "%4c-%2c-%2cT%2c:%2c:%2cZ", date, date + 4, date + 6, date + 9,
				date + 11, date + 13), 6);
	date[8] = 'T';
	date[15] = 'Z';
	memset(&c->sig, 0, sizeof c->sig);
	c->sig.creds = &c->creds;
	c->sig.region = json_string_value(json_object_get(c->root, "region"));
	c->sig.service = json_string_value(json_object_get(c->root, "service"));
	c->sig.amz_date = strdup(date);
	c->sig.session_token_unsigned =
		json_is_true(json_object_get(c->root, "omit_session_token"));
	c->sig.sign_body_hash = json_is_true(json_object_get(c->root, "sign_body"));
	c->expires = (long)json_integer_value(json_object_get(c->root, "expiration_in_seconds"));
}

static void free_context(struct vector_context *c)
{
	free((char *)c->sig.amz_date);
	json_decref(c->root);
}

static char *authorization_line(const char *signed_request)
{
	const char *a = strstr(signed_request, "\nAuthorization:");
	const char *end;

	if (!a)
		return NULL;
	a += strlen("\nAuthorization:");
	end = strchr(a, '\n');
	return strndup(a, end ? (size_t)(end - a) : strlen(a));
}

static void run_vector(int i, bool query_mode)
{
	struct vector_list l = list_vectors();
	char dir[4096], errbuf[256] = "";
	struct parsed_request p;
	struct vector_context c;
	struct sigv4_result r;
	char *text, *want_creq, *want_sts, *want_sig, *want_signed;
	size_t len;
	const char *prefix = query_mode ? "query" : "header";
	char fcreq[64], fsts[64], fsig[64], fsigned[64];

	ck_assert_int_lt(i, l.count);
	vectors_dir(dir, sizeof dir);
	snprintf(fcreq, sizeof fcreq, "%s-canonical-request.txt", prefix);
	snprintf(fsts, sizeof fsts, "%s-string-to-sign.txt", prefix);
	snprintf(fsig, sizeof fsig, "%s-signature.txt", prefix);
	snprintf(fsigned, sizeof fsigned, "%s-signed-request.txt", prefix);
	text = read_file(dir, l.names[i], "request.txt", &len);
	ck_assert_msg(text != NULL, "%s: no request.txt", l.names[i]);
	parse_request(text, len, &p);
	load_context(dir, l.names[i], &c);
	p.req.normalize_path = json_is_true(json_object_get(c.root, "normalize"));
	want_creq = read_file(dir, l.names[i], fcreq, NULL);
	want_sts = read_file(dir, l.names[i], fsts, NULL);
	want_sig = read_file(dir, l.names[i], fsig, NULL);
	want_signed = read_file(dir, l.names[i], fsigned, NULL);
	ck_assert_ptr_nonnull(want_creq);
	ck_assert_ptr_nonnull(want_sts);
	ck_assert_ptr_nonnull(want_sig);
	ck_assert_ptr_nonnull(want_signed);

	if (query_mode)
		ck_assert_msg(sigv4_presign(&p.req, &c.sig, c.expires, &r, errbuf, sizeof errbuf) == 0,
			      "%s: %s", l.names[i], errbuf);
	else
		ck_assert_msg(sigv4_sign_headers(&p.req, &c.sig, &r, errbuf, sizeof errbuf) == 0,
			      "%s: %s", l.names[i], errbuf);
	ck_assert_msg(!strcmp(r.canonical_request, want_creq),
		      "%s (%s): canonical request\n--- got\n%s\n--- want\n%s", l.names[i], prefix,
		      r.canonical_request, want_creq);
	ck_assert_msg(!strcmp(r.string_to_sign, want_sts), "%s (%s): string to sign",
		      l.names[i], prefix);
	ck_assert_msg(!strcmp(r.signature, want_sig), "%s (%s): signature", l.names[i], prefix);
	if (query_mode) {
		/* The signed URL carries the signature and the same X-Amz-* parameters. */
		char needle[128];

		snprintf(needle, sizeof needle, "X-Amz-Signature=%s", want_sig);
		ck_assert_msg(strstr(want_signed, needle) != NULL, "%s: fixture", l.names[i]);
		ck_assert_msg(strstr(r.query_string, needle) != NULL, "%s: query", l.names[i]);
		char *qs = strdup(r.query_string), *save = NULL;

		/* Only the parameters the signer adds: the fixture echoes the caller's own
		 * parameters as they were written (get-vanilla-utf8-query has raw UTF-8). */
		for (char *pair = strtok_r(qs, "&", &save); pair; pair = strtok_r(NULL, "&", &save))
			ck_assert_msg(strncmp(pair, "X-Amz-", 6) || strstr(want_signed, pair),
				      "%s: %s not in signed URL", l.names[i], pair);
		free(qs);
	} else {
		char *auth = authorization_line(want_signed);

		ck_assert_ptr_nonnull(auth);
		ck_assert_msg(!strcmp(r.authorization, auth), "%s: Authorization\n got %s\nwant %s",
			      l.names[i], r.authorization, auth);
		free(auth);
	}
	sigv4_result_free(&r);
	free(want_creq);
	free(want_sts);
	free(want_sig);
	free(want_signed);
	free_context(&c);
	free_request(&p);
	for (int k = 0; k < l.count; k++)
		free(l.names[k]);
}

START_TEST(official_vector_header_mode)
{
	run_vector(_i, false);
}
END_TEST

START_TEST(official_vector_query_mode)
{
	run_vector(_i, true);
}
END_TEST

/* A missing or partial suite must not pass quietly under CI. Outside CI a missing
 * ../shared (a bare checkout) is reported on stderr. */
START_TEST(official_vectors_are_all_present)
{
	struct vector_list l = list_vectors();
	const char *ci = getenv("CI");
	char dir[4096];

	vectors_dir(dir, sizeof dir);
	if (l.missing && !(ci && !strcmp(ci, "true"))) {
		fprintf(stderr, "# SigV4 vectors not found at %s (set PERISCOPE_SHARED_DIR); "
				"the vector tests did not run\n", dir);
		return;
	}
	ck_assert_msg(!l.missing, "SigV4 vectors not found at %s", dir);
	ck_assert_int_eq(l.count, EXPECTED_VECTORS);
	for (int k = 0; k < l.count; k++)
		free(l.names[k]);
}
END_TEST

/* ssm-protocol.md §A.7: an SSM StartSession request exactly as botocore signs it. */
static void sign_ssm_example(const char *token, struct sigv4_result *r)
{
	static const char body[] = "{\"Target\":\"i-0123456789abcdef0\"}";
	struct aws_credentials creds = { "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
					 (char *)token };
	struct sigv4_header headers[] = {
		{ "Content-Type", "application/x-amz-json-1.1" },
		{ "Host", "ssm.us-east-1.amazonaws.com" },
		{ "X-Amz-Target", "AmazonSSM.StartSession" },
	};
	struct sigv4_request req = { .method = "POST", .path = "/", .headers = headers,
				     .header_count = 3, .body = body, .body_len = strlen(body) };
	char date[17], err[128];
	struct sigv4_signing sig = { .creds = &creds, .region = "us-east-1", .service = "ssm",
				     .amz_date = date };

	ck_assert_int_eq(sigv4_format_amz_date(1440938160, date), 0);
	ck_assert_str_eq(date, "20150830T123600Z");
	ck_assert_int_eq(sigv4_sign_headers(&req, &sig, r, err, sizeof err), 0);
	ck_assert_str_eq(r->payload_hash,
			 "377a7737a95b10b17bfca1a52c122817c30dd291e6277e778108b1b379c0aca1");
}

START_TEST(ssm_worked_example_without_token)
{
	struct sigv4_result r;

	sign_ssm_example(NULL, &r);
	ck_assert_str_eq(r.canonical_request,
			 "POST\n/\n\n"
			 "content-type:application/x-amz-json-1.1\n"
			 "host:ssm.us-east-1.amazonaws.com\n"
			 "x-amz-date:20150830T123600Z\n"
			 "x-amz-target:AmazonSSM.StartSession\n\n"
			 "content-type;host;x-amz-date;x-amz-target\n"
			 "377a7737a95b10b17bfca1a52c122817c30dd291e6277e778108b1b379c0aca1");
	ck_assert_str_eq(r.string_to_sign,
			 "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/ssm/aws4_request\n"
			 "65b5df626f92c6b00a1afa85ee7cde09796d256af0d6a8d9d3d85d40dca6284f");
	ck_assert_str_eq(r.authorization,
			 "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/ssm/aws4_request, "
			 "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
			 "Signature=dee0bdcea4690009ad2ac39ee57c761731d6a13df7c02a96c4e99867c42ac32f");
	sigv4_result_free(&r);
}
END_TEST

START_TEST(ssm_worked_example_with_session_token)
{
	struct sigv4_result r;

	sign_ssm_example("FQoGZXIvYXdzEXAMPLESESSIONTOKEN", &r);
	ck_assert_ptr_nonnull(strstr(r.canonical_request,
				     "x-amz-date:20150830T123600Z\n"
				     "x-amz-security-token:FQoGZXIvYXdzEXAMPLESESSIONTOKEN\n"
				     "x-amz-target:AmazonSSM.StartSession\n"));
	ck_assert_str_eq(r.signed_headers, "content-type;host;x-amz-date;x-amz-security-token;x-amz-target");
	ck_assert_ptr_nonnull(strstr(r.string_to_sign,
				     "e994416d2b0db103011e686709c187bee3fd280b72bef977bb0258e5b0fe8e83"));
	ck_assert_str_eq(r.signature, "3c50208d6272e804a756e054e14d53ef9d4a4f593380f55c2785c1b79b55413b");
	sigv4_result_free(&r);
}
END_TEST

START_TEST(signer_refuses_headers_it_adds_itself)
{
	struct aws_credentials creds = { "AKID", "SECRET", NULL };
	struct sigv4_header headers[] = { { "Host", "h" }, { "X-Amz-Date", "20150830T123600Z" } };
	struct sigv4_request req = { .method = "POST", .path = "/", .headers = headers,
				     .header_count = 2 };
	struct sigv4_signing sig = { .creds = &creds, .region = "us-east-1", .service = "ssm",
				     .amz_date = "20150830T123600Z" };
	struct sigv4_result r;
	char err[128] = "";

	ck_assert_int_eq(sigv4_sign_headers(&req, &sig, &r, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "added by the signer"));
	sig.amz_date = "2015-08-30";
	headers[1].name = "X-Other";
	ck_assert_int_eq(sigv4_sign_headers(&req, &sig, &r, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "amz_date"));
}
END_TEST

START_TEST(error_messages_never_carry_the_secret)
{
	struct aws_credentials creds = { "AKID", "TOPSECRETKEY", "TOPSECRETTOKEN" };
	struct sigv4_request req = { .method = "POST", .path = "/" };
	struct sigv4_signing sig = { .creds = &creds, .region = "", .service = "ssm",
				     .amz_date = "20150830T123600Z" };
	struct sigv4_result r;
	char err[256] = "";

	ck_assert_int_eq(sigv4_sign_headers(&req, &sig, &r, err, sizeof err), -1);
	ck_assert_ptr_null(strstr(err, "TOPSECRET"));
	ck_assert_uint_gt(strlen(err), 0);
}
END_TEST

static Suite *sigv4_suite(void)
{
	Suite *s = suite_create("sigv4");
	TCase *t = tcase_create("sigv4");
	struct vector_list l = list_vectors();

	tcase_add_test(t, official_vectors_are_all_present);
	tcase_add_loop_test(t, official_vector_header_mode, 0, l.count);
	tcase_add_loop_test(t, official_vector_query_mode, 0, l.count);
	tcase_add_test(t, ssm_worked_example_without_token);
	tcase_add_test(t, ssm_worked_example_with_session_token);
	tcase_add_test(t, signer_refuses_headers_it_adds_itself);
	tcase_add_test(t, error_messages_never_carry_the_secret);
	suite_add_tcase(s, t);
	for (int k = 0; k < l.count; k++)
		free(l.names[k]);
	return s;
}

UNIT_MAIN(sigv4_suite)
