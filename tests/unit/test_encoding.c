#include <nettle/base64.h>
#include <stdio.h>
#include <string.h>

#include "core/b64_fast.h"
#include "core/buf.h"
#include "core/encoding.h"
#include "core/timeutil.h"
#include "unit.h"

START_TEST(base64url_round_trip_without_padding)
{
	const unsigned char raw[] = { 0xfb, 0xff, 0xfe, 0x00, 0x41 };
	unsigned char *back = NULL;
	size_t n = 0;
	char *s = b64url_encode(raw, sizeof raw);

	ck_assert_str_eq(s, "-__-AEE");
	ck_assert_int_eq(b64url_decode(s, strlen(s), &back, &n), 0);
	ck_assert_uint_eq(n, sizeof raw);
	ck_assert_mem_eq(back, raw, sizeof raw);
	free(s);
	free(back);
}
END_TEST

START_TEST(base64url_refuses_standard_alphabet_and_bad_length)
{
	unsigned char *out = NULL;
	size_t n = 0;

	ck_assert_int_eq(b64url_decode("ab+/", 4, &out, &n), -1);
	ck_assert_int_eq(b64url_decode("abcde", 5, &out, &n), -1);
	ck_assert_ptr_null(out);
}
END_TEST

/* RFC 4648 §10's vectors, then every length to 300 against nettle's encoder. */
START_TEST(fast_base64_matches_rfc4648_and_nettle)
{
	static const char *const vectors[][2] = { { "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" },
		{ "foo", "Zm9v" }, { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" }, { "foobarbazqu", "Zm9vYmFyYmF6cXU=" } };
	unsigned char data[300];
	char got[B64_ENCODED_LENGTH(300) + 1], want[BASE64_ENCODE_RAW_LENGTH(300) + 1];

	for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
		size_t len = strlen(vectors[i][0]);
		b64_encode_into(got, vectors[i][0], len);
		got[B64_ENCODED_LENGTH(len)] = '\0';
		ck_assert_str_eq(got, vectors[i][1]);
	}
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (unsigned char)(i * 167 + 13);
	for (size_t len = 0; len <= sizeof data; len++) {
		ck_assert_uint_eq(B64_ENCODED_LENGTH(len), BASE64_ENCODE_RAW_LENGTH(len));
		b64_encode_into(got, data + (sizeof data - len), len);
		base64_encode_raw(want, len, data + (sizeof data - len));
		ck_assert_mem_eq(got, want, B64_ENCODED_LENGTH(len));
	}
}
END_TEST

START_TEST(format_decimal_writes_as_printf_does)
{
	static const long long values[] = { 0, 7, -7, 10, 99, 100, 1234567890123LL, -1000,
					    9223372036854775807LL, -9223372036854775807LL - 1 };
	char got[24], want[24];

	for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
		size_t n = format_decimal(values[i], got);
		snprintf(want, sizeof want, "%lld", values[i]);
		ck_assert_uint_eq(n, strlen(want));
		ck_assert_mem_eq(got, want, n);
	}
}
END_TEST

START_TEST(sha256_matches_known_vector)
{
	char hex[65];

	ck_assert_int_eq(sha256_hex("abc", 3, hex), 0);
	ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
END_TEST

START_TEST(random_tokens_differ_and_have_expected_length)
{
	char *a = random_token(32), *b = random_token(32);

	ck_assert_uint_eq(strlen(a), 43);
	ck_assert_str_ne(a, b);
	free(a);
	free(b);
}
END_TEST

START_TEST(buf_enforces_its_maximum)
{
	struct buf b;

	buf_init(&b, 8);
	ck_assert_int_eq(buf_append_str(&b, "12345678"), 0);
	ck_assert_int_eq(buf_append_str(&b, "9"), -1);
	ck_assert_str_eq(b.data, "12345678");
	buf_reset(&b);
	ck_assert_int_eq(buf_printf(&b, "%d-%s", 42, "x"), 0);
	ck_assert_str_eq(b.data, "42-x");
	buf_free(&b);
}
END_TEST

START_TEST(rfc3339_parses_offsets_and_fractions)
{
	long long ns;

	ck_assert_int_eq(parse_rfc3339_ns("1970-01-01T00:00:01Z", &ns), 0);
	ck_assert_int_eq(ns, 1000000000LL);
	ck_assert_int_eq(parse_rfc3339_ns("1970-01-01T01:00:00.5+01:00", &ns), 0);
	ck_assert_int_eq(ns, 500000000LL);
	ck_assert_int_eq(parse_rfc3339_ns("1970-01-01 00:00:01Z", &ns), -1);
	ck_assert_int_eq(parse_rfc3339_ns("yesterday", &ns), -1);
	ck_assert_int_eq(parse_rfc3339_ns("1970-13-01T00:00:01Z", &ns), -1);
	/* Beyond what 64-bit nanoseconds hold, and before the epoch. */
	ck_assert_int_eq(parse_rfc3339_ns("2999-01-01T00:00:00Z", &ns), -1);
	ck_assert_int_eq(parse_rfc3339_ns("1969-12-31T23:59:59Z", &ns), -1);
}
END_TEST

static Suite *encoding_suite(void)
{
	Suite *s = suite_create("encoding");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, base64url_round_trip_without_padding);
	tcase_add_test(tc, base64url_refuses_standard_alphabet_and_bad_length);
	tcase_add_test(tc, sha256_matches_known_vector);
	tcase_add_test(tc, fast_base64_matches_rfc4648_and_nettle);
	tcase_add_test(tc, format_decimal_writes_as_printf_does);
	tcase_add_test(tc, random_tokens_differ_and_have_expected_length);
	tcase_add_test(tc, buf_enforces_its_maximum);
	tcase_add_test(tc, rfc3339_parses_offsets_and_fractions);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(encoding_suite)
