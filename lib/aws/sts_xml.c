#include "core/errmsg.h"
#include "aws/sts_xml.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/timeutil.h"

#define TEXT_MAX (64 * 1024)

/* Never NOENT or DTDLOAD: entities stay unexpanded and nothing is fetched. */
static xmlDocPtr parse(const char *xml, size_t len)
{
	xmlDocPtr doc;

	if (!xml || len == 0 || len > STS_XML_MAX_BYTES || len > INT_MAX)
		return NULL;
	doc = xmlReadMemory(xml, (int)len, "sts.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc && (doc->intSubset || doc->extSubset)) {
		xmlFreeDoc(doc);
		return NULL;
	}
	return doc;
}

static bool named(xmlNodePtr n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name);
}

/* First element child with this local name (the answer's order is not guaranteed). */
static xmlNodePtr child(xmlNodePtr parent, const char *name)
{
	for (xmlNodePtr c = parent ? parent->children : NULL; c; c = c->next)
		if (named(c, name))
			return c;
	return NULL;
}

/* The element's own text (text and CDATA children). An entity reference or a nested
 * element makes the value invalid: AWS sends plain text. Returns malloc'd or NULL. */
static char *text_of(xmlNodePtr n)
{
	struct buf b;

	if (!n)
		return NULL;
	buf_init(&b, TEXT_MAX);
	for (xmlNodePtr c = n->children; c; c = c->next) {
		if (c->type == XML_COMMENT_NODE)
			continue;
		if ((c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE) ||
		    (c->content && buf_append_str(&b, (const char *)c->content) != 0)) {
			buf_free(&b);
			return NULL;
		}
	}
	return buf_steal(&b);
}

static char *text_or_empty(xmlNodePtr n)
{
	return n ? text_of(n) : strdup("");
}

void sts_assumed_role_free(struct sts_assumed_role *r)
{
	aws_credentials_clear(&r->creds);
	free(r->expiration);
	free(r->assumed_role_arn);
	free(r->assumed_role_id);
	free(r->subject_from_web_identity_token);
	free(r->audience);
	free(r->provider);
	memset(r, 0, sizeof *r);
}

#define WORD_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"

/* Visible ASCII only: no spaces, no control characters. */
static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static bool nonempty(const char *s)
{
	return s && *s;
}

int sts_parse_assume_role_response(const char *xml, size_t len, struct sts_assumed_role *out,
				   char *err, size_t errlen)
{
	xmlDocPtr doc;
	xmlNodePtr root, result, creds, user;
	long long ns;

	memset(out, 0, sizeof *out);
	doc = parse(xml, len);
	if (!doc) {
		set_err(err, errlen, "STS answer is not acceptable XML");
		return -1;
	}
	root = xmlDocGetRootElement(doc);
	result = named(root, "AssumeRoleWithWebIdentityResponse")
		? child(root, "AssumeRoleWithWebIdentityResult") : NULL;
	creds = child(result, "Credentials");
	user = child(result, "AssumedRoleUser");
	if (!result || !creds) {
		set_err(err, errlen, "STS answer has no AssumeRoleWithWebIdentityResult/Credentials");
		goto fail;
	}
	out->creds.access_key_id = text_of(child(creds, "AccessKeyId"));
	out->creds.secret_access_key = text_of(child(creds, "SecretAccessKey"));
	out->creds.session_token = text_of(child(creds, "SessionToken"));
	out->expiration = text_of(child(creds, "Expiration"));
	if (!nonempty(out->creds.access_key_id) || !nonempty(out->creds.secret_access_key) ||
	    !nonempty(out->creds.session_token) || !nonempty(out->expiration)) {
		set_err(err, errlen, "STS answer lacks AccessKeyId, SecretAccessKey, SessionToken "
				     "or Expiration");
		goto fail;
	}
	/* They end up in HTTP header lines (and the key id in every Authorization). */
	if (strspn(out->creds.access_key_id, WORD_CHARS) != strlen(out->creds.access_key_id) ||
	    !printable(out->creds.secret_access_key) || !printable(out->creds.session_token)) {
		set_err(err, errlen, "STS answer has credentials with unexpected characters");
		goto fail;
	}
	if (parse_rfc3339_ns(out->expiration, &ns) != 0) {
		set_err(err, errlen, "STS answer has an Expiration that is not ISO-8601");
		goto fail;
	}
	out->expiration_unix = ns / 1000000000LL;
	out->assumed_role_arn = text_or_empty(child(user, "Arn"));
	out->assumed_role_id = text_or_empty(child(user, "AssumedRoleId"));
	out->subject_from_web_identity_token =
		text_or_empty(child(result, "SubjectFromWebIdentityToken"));
	out->audience = text_or_empty(child(result, "Audience"));
	out->provider = text_or_empty(child(result, "Provider"));
	if (!out->assumed_role_arn || !out->assumed_role_id ||
	    !out->subject_from_web_identity_token || !out->audience || !out->provider) {
		set_err(err, errlen, "STS answer has malformed AssumedRoleUser or identity fields");
		goto fail;
	}
	xmlFreeDoc(doc);
	return 0;
fail:
	xmlFreeDoc(doc);
	sts_assumed_role_free(out);
	return -1;
}

int sts_parse_error_response(const char *xml, size_t len, struct aws_error *e)
{
	xmlDocPtr doc = parse(xml, len);
	xmlNodePtr root, error;
	char *code = NULL, *message = NULL;
	int rc = -1;

	if (!doc)
		return -1;
	root = xmlDocGetRootElement(doc);
	/* Query APIs answer <ErrorResponse><Error>; EC2-style and some fakes (moto's
	 * signature errors, even for JSON services) wrap it in <Errors>; a bare <Error> is
	 * accepted too. */
	if (named(root, "Error"))
		error = root;
	else if (named(root, "ErrorResponse") || named(root, "Response"))
		error = child(root, "Error") ? child(root, "Error") : child(child(root, "Errors"), "Error");
	else
		error = NULL;
	code = text_of(child(error, "Code"));
	message = text_or_empty(child(error, "Message"));
	if (nonempty(code) && message) {
		aws_error_set(e, code, message, e->http_status);
		rc = 0;
	}
	free(code);
	free(message);
	xmlFreeDoc(doc);
	return rc;
}
