/* Agent registration: SSH public keys checked strictly (fingerprints as ssh-keygen -l
 * prints them), one-time tokens (reused, expired, wrong cluster: refused and spent),
 * ports given from the base up and kept across a key rotation, one key per cluster. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/ssh_pubkey.h"
#include "agent/tunnel_streams.h"
#include "store/agent_registry.h"
#include "store/db.h"
#include "unit.h"
#include "unit_db.h"

/* Made with ssh-keygen -t ed25519 / -t ecdsa; fingerprints from ssh-keygen -lf. */
#define KEY_A "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBh1CF+x2EZJD8G6/CScsu7dFLIfc2v3QY61Ux2pyA8u"
#define FP_A "SHA256:FEKBf4/i7PtQq50OV3rr17ics2SagZ2K43Y6f9JHkpk"
#define KEY_B "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDn0XKMVMC8TN23G28dq03i/JW/9bUH5Qqp2Ciivfk2/"
#define FP_B "SHA256:V/vA9yusTYiqBo7MSXyblWQXsJObBIVUCvpyiE1+39M"
#define KEY_C "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBJ7Gn/SgBEzWkVyVOX6Qvd3UZQ/T24iD5wkrHNsUoJPUIIe3mvyi4Cl6FFLX6pREZNSlu+S+q8+OftUrdjFYo1w="
#define FP_C "SHA256:EcSxqUm7/dLRkFrm/MRMs6/urKcFVHQGm6Y78S+IFy8"
#define CA_HASH "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

START_TEST(keys_parse_with_ssh_keygen_fingerprints)
{
	struct ssh_pubkey k;
	char err[256];

	ck_assert_int_eq(ssh_pubkey_parse(KEY_A " agent@edge", &k, err, sizeof err), 0);
	ck_assert_str_eq(k.line, KEY_A);
	ck_assert_str_eq(k.fingerprint, FP_A);
	ck_assert_int_eq(ssh_pubkey_parse(KEY_C, &k, err, sizeof err), 0);
	ck_assert_str_eq(k.fingerprint, FP_C);
}
END_TEST

START_TEST(forged_and_smuggling_keys_are_refused)
{
	static const char *const bad[] = {
		"",
		"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC7",
		/* an Ed25519 blob declared as ECDSA, and the reverse */
		"ecdsa-sha2-nistp256 AAAAC3NzaC1lZDI1NTE5AAAAIBh1CF+x2EZJD8G6/CScsu7dFLIfc2v3QY61Ux2pyA8u",
		"ssh-ed25519 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBJ7Gn/SgBEzWkVyVOX6Qvd3UZQ/T24iD5wkrHNsUoJPUIIe3mvyi4Cl6FFLX6pREZNSlu+S+q8+OftUrdjFYo1w=",
		/* one byte short of a key */
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAHxh1CF+x2EZJD8G6/CScsu7dFLIfc2v3QY61Ux2pyA8=",
		"ssh-ed25519 not-base64!",
		"restrict,command=\"sh\" " KEY_A,
		KEY_A "\npermitlisten=\"0.0.0.0:22\" " KEY_B,
		"ssh-ed25519  AAAAC3NzaC1lZDI1NTE5AAAAIBh1CF+x2EZJD8G6/CScsu7dFLIfc2v3QY61Ux2pyA8u",
	};
	struct ssh_pubkey k;
	char err[256];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(ssh_pubkey_parse(bad[i], &k, err, sizeof err) == -1, "accepted #%zu", i);
	ck_assert_int_eq(ssh_pubkey_parse(NULL, &k, err, sizeof err), -1);
}
END_TEST

static char db_path[TEST_DB_PATH_MAX];

static enum agent_reg_result reg(sqlite3 *db, const char *token, const char *cluster,
				 const char *key, const char *fp, long long now, int *port,
				 char *bound, char *why)
{
	struct agent_registration r = { .token = token, .cluster = cluster, .public_key = key,
					.fingerprint = fp, .api_token = "sa-token",
					.ca_sha256 = CA_HASH };

	return agent_register(db, &r, now, 47100, port, bound, why, 256);
}

START_TEST(tokens_are_one_time_bound_and_expiring)
{
	sqlite3 *db;
	char *t1 = NULL, *t2 = NULL, *t3 = NULL, *t4 = NULL, bound[64], why[256];
	int port;
	struct agent_record rec;

	test_db_create(db_path);
	db = test_db_open(db_path);
	ck_assert_int_eq(agent_token_create(db, "edge", "admin", 1000, 900, &t1), 0);
	ck_assert_int_eq(agent_token_create(db, "edge", "admin", 1000, 900, &t2), 0);
	ck_assert_int_eq(agent_token_create(db, "other", "admin", 1000, 900, &t3), 0);
	ck_assert_int_eq(agent_token_create(db, "edge", "admin", 1000, 900, &t4), 0);
	ck_assert_str_ne(t1, t2);

	ck_assert_int_eq(reg(db, "no-such", "edge", KEY_A, FP_A, 1001, &port, bound, why),
			 AGENT_REG_REFUSED);
	ck_assert_str_eq(bound, "");
	ck_assert_int_eq(reg(db, t1, "edge", KEY_A, FP_A, 1001, &port, bound, why), AGENT_REG_OK);
	ck_assert_int_eq(port, 47100);
	/* reused */
	ck_assert_int_eq(reg(db, t1, "edge", KEY_A, FP_A, 1002, &port, bound, why),
			 AGENT_REG_REFUSED);
	ck_assert_str_eq(bound, "edge");
	ck_assert_str_eq(why, "the registration token was already used");
	/* expired (15 minutes and more) */
	ck_assert_int_eq(reg(db, t2, "edge", KEY_B, FP_B, 1900, &port, bound, why),
			 AGENT_REG_REFUSED);
	ck_assert_str_eq(why, "the registration token expired");
	/* the wrong cluster burns it: the right name afterwards is refused too */
	ck_assert_int_eq(reg(db, t3, "edge", KEY_B, FP_B, 1003, &port, bound, why),
			 AGENT_REG_REFUSED);
	ck_assert_str_eq(bound, "other");
	ck_assert_int_eq(reg(db, t3, "other", KEY_B, FP_B, 1004, &port, bound, why),
			 AGENT_REG_REFUSED);
	ck_assert_str_eq(why, "the registration token was already used");
	/* a rotation keeps the port and replaces the key */
	ck_assert_int_eq(reg(db, t4, "edge", KEY_C, FP_C, 1005, &port, bound, why), AGENT_REG_OK);
	ck_assert_int_eq(port, 47100);
	ck_assert_int_eq(agent_lookup(db, "edge", &rec), 1);
	ck_assert_str_eq(rec.fingerprint, FP_C);
	free(t1);
	free(t2);
	free(t3);
	free(t4);
	db_close(db);
	test_db_remove(db_path);
}
END_TEST

START_TEST(ports_are_distinct_and_keys_belong_to_one_cluster)
{
	sqlite3 *db;
	char *t1 = NULL, *t2 = NULL, *t3 = NULL, bound[64], why[256];
	int p1, p2, p3;

	test_db_create(db_path);
	db = test_db_open(db_path);
	ck_assert_int_eq(agent_token_create(db, "a", "admin", 1000, 900, &t1), 0);
	ck_assert_int_eq(agent_token_create(db, "b", "admin", 1000, 900, &t2), 0);
	ck_assert_int_eq(agent_token_create(db, "c", "admin", 1000, 900, &t3), 0);
	ck_assert_int_eq(reg(db, t1, "a", KEY_A, FP_A, 1001, &p1, bound, why), AGENT_REG_OK);
	ck_assert_int_eq(reg(db, t2, "b", KEY_A, FP_A, 1001, &p2, bound, why), AGENT_REG_REFUSED);
	ck_assert_str_eq(why, "the public key is registered for another cluster");
	ck_assert_int_eq(reg(db, t3, "c", KEY_B, FP_B, 1001, &p3, bound, why), AGENT_REG_OK);
	ck_assert_int_eq(p1, 47100);
	ck_assert_int_eq(p3, 47101);
	free(t1);
	free(t2);
	free(t3);
	db_close(db);
	test_db_remove(db_path);
}
END_TEST

/* 0xB86C = 47212: two streams accepted on it (the client ends, the TIME_WAIT and another
 * address's row do not count), one listener; 47213 listens with no stream. */
START_TEST(streams_are_the_established_connections_to_the_port)
{
	char path[4096];

	snprintf(path, sizeof path, "%s/tests/unit/data/proc_net_tcp", unit_srcdir());
	ck_assert_int_eq(tunnel_streams_count(path, 47212), 2);
	ck_assert_int_eq(tunnel_streams_count(path, 47213), 0);
	ck_assert_int_eq(tunnel_port_listening(path, 47212), 1);
	ck_assert_int_eq(tunnel_port_listening(path, 47213), 1);
	ck_assert_int_eq(tunnel_port_listening(path, 47214), 0);
	ck_assert_int_eq(tunnel_streams_count("/nonexistent/tcp", 47212), -1);
}
END_TEST

static Suite *agents_suite(void)
{
	Suite *s = suite_create("agents");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, keys_parse_with_ssh_keygen_fingerprints);
	tcase_add_test(tc, forged_and_smuggling_keys_are_refused);
	tcase_add_test(tc, tokens_are_one_time_bound_and_expiring);
	tcase_add_test(tc, ports_are_distinct_and_keys_belong_to_one_cluster);
	tcase_add_test(tc, streams_are_the_established_connections_to_the_port);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(agents_suite)
