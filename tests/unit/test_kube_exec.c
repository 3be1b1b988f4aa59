#include <string.h>

#include "k8s/kube_exec.h"
#include "unit.h"

#define V1 "client.authentication.k8s.io/v1"

static int parse(const char *text, struct kube_exec_credential *c, char *err, size_t errlen)
{
	return kube_exec_parse_output(text, strlen(text), V1, c, err, errlen);
}

START_TEST(exec_credential_token_and_expiry)
{
	struct kube_exec_credential c;
	char err[256];

	ck_assert_int_eq(parse("{\"apiVersion\":\"" V1 "\",\"kind\":\"ExecCredential\",\"status\":"
			       "{\"token\":\"t0k\",\"expirationTimestamp\":\"2026-12-06T22:00:00Z\"}}", &c, err, sizeof err), 0);
	ck_assert_str_eq(c.token, "t0k");
	ck_assert_int_eq(c.expiry, 1796594400);
	ck_assert_ptr_null(c.cert_pem);
	kube_exec_credential_clear(&c);
	ck_assert_int_eq(parse("{\"apiVersion\":\"" V1 "\",\"kind\":\"ExecCredential\",\"status\":"
			       "{\"clientCertificateData\":\"C\",\"clientKeyData\":\"K\"}}", &c, err, sizeof err), 0);
	ck_assert_str_eq(c.cert_pem, "C");
	ck_assert_str_eq(c.key_pem, "K");
	ck_assert_int_eq(c.expiry, 0);
	kube_exec_credential_clear(&c);
}
END_TEST

/* Each refusal in client-go's words (exec.go refreshCredsLocked). */
START_TEST(exec_credential_refusals)
{
	static const struct { const char *text, *want; } cases[] = {
		{ "{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"t\"}}",
		  "plugin returned version client.authentication.k8s.io/v1beta1" },
		{ "{\"apiVersion\":\"" V1 "\",\"kind\":\"ExecCredential\"}", "didn't return a status field" },
		{ "{\"apiVersion\":\"" V1 "\",\"kind\":\"ExecCredential\",\"status\":{}}", "didn't return a token or cert/key pair" },
		{ "{\"apiVersion\":\"" V1 "\",\"kind\":\"ExecCredential\",\"status\":{\"clientKeyData\":\"K\"}}", "only certificate or key" },
		{ "{\"apiVersion\":\"" V1 "\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"t\",\"expirationTimestamp\":\"soon\"}}", "RFC 3339" },
		{ "{\"apiVersion\":\"" V1 "\",\"kind\":\"Other\",\"status\":{\"token\":\"t\"}}", "kind is not ExecCredential" },
		{ "token", "not a JSON object" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct kube_exec_credential c;
		char err[256] = "";

		ck_assert_int_eq(parse(cases[i].text, &c, err, sizeof err), -1);
		ck_assert_msg(strstr(err, cases[i].want), "case %zu: %s", i, err);
		ck_assert_ptr_null(c.token);
	}
}
END_TEST

START_TEST(exec_plugin_v1_needs_interactive_mode_and_no_terminal)
{
	struct kube_exec_credential c;
	char err[256];
	json_t *exec = json_pack("{s:s, s:s}", "apiVersion", V1, "command", "true");

	ck_assert_int_eq(kube_exec_run(exec, NULL, NULL, &c, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "interactiveMode must be specified"));
	json_object_set_new(exec, "interactiveMode", json_string("Always"));
	ck_assert_int_eq(kube_exec_run(exec, NULL, NULL, &c, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "standard input is not a terminal"));
	json_object_set_new(exec, "interactiveMode", json_string("Never"));
	json_object_set_new(exec, "command", json_string("false"));
	ck_assert_int_eq(kube_exec_run(exec, NULL, NULL, &c, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "failed with exit code 1"));
	json_decref(exec);
}
END_TEST

static Suite *kube_exec_suite(void)
{
	Suite *s = suite_create("kube_exec");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, exec_credential_token_and_expiry);
	tcase_add_test(tc, exec_credential_refusals);
	tcase_add_test(tc, exec_plugin_v1_needs_interactive_mode_and_no_terminal);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(kube_exec_suite)
