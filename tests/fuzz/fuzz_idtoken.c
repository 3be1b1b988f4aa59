/* libFuzzer target: arbitrary bytes as an id_token, verified against a fixed one-key JWKS
 * (a P-256 key whose private half was thrown away after signing the seed corpus). The
 * unverified readers get the same bytes. Invariant checked: a token only passes with the
 * claims it was required to have. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/idtoken.h"
#include "auth/jwks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fixed_jwks[] =
	"{\"keys\":[{\"kty\":\"EC\",\"kid\":\"fuzz-ec\",\"use\":\"sig\",\"crv\":\"P-256\","
	"\"x\":\"AbpC9y7041HVZC932HBXF8BSok5MZCFEXox1Unk-P5Q\","
	"\"y\":\"lyhMhpF__7VWLhM3Dmmw1YlOXLZisg9uINSi3TTN-0A\"}]}";

static void check_passed(json_t *claims, const struct idtoken_expect *ex)
{
	json_t *exp = json_object_get(claims, "exp");

	if (!json_is_object(claims) || !json_is_integer(exp) ||
	    json_integer_value(exp) <= ex->now - ex->skew_seconds ||
	    strcmp(json_string_value(json_object_get(claims, "iss")), ex->issuer) != 0 ||
	    strcmp(json_string_value(json_object_get(claims, "nonce")), ex->nonce) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct idtoken_expect ex = {
		.issuer = "https://idp.example.test", .audience = "periscope",
		.nonce = "fuzz-nonce", .now = 1700000000, .skew_seconds = 60,
	};
	struct jwks *set = NULL;
	json_t *claims = NULL, *payload = NULL;
	char err[256], kid[64];
	char *token = malloc(size + 1);

	if (!token)
		return 0;
	memcpy(token, data, size);
	token[size] = '\0';
	if (jwks_parse(fixed_jwks, sizeof fixed_jwks - 1, &set, err, sizeof err) != 0)
		abort();
	if (idtoken_verify(set, token, &ex, &claims, err, sizeof err) == IDTOKEN_OK)
		check_passed(claims, &ex);
	else if (claims)
		abort();
	(void)idtoken_peek_kid(token, kid, sizeof kid);
	if (jwt_payload_unverified(token, &payload) == 0 && !json_is_object(payload))
		abort();
	json_decref(payload);
	json_decref(claims);
	jwks_free(set);
	free(token);
	return 0;
}
