/* Migrations, the session store (sealed tokens, refresh claims, timeouts) and login
 * attempts, on real SQLite files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/timeutil.h"
#include "store/db.h"
#include "store/login_attempts.h"
#include "store/session_store.h"
#include "auth/token_box.h"
#include "unit.h"
#include "unit_db.h"

static char db_path[TEST_DB_PATH_MAX];

static sqlite3 *open_fresh(void)
{
	test_db_create(db_path);
	return test_db_open(db_path);
}

static void remove_db(sqlite3 *db)
{
	db_close(db);
	test_db_remove(db_path);
}

START_TEST(fresh_database_reaches_latest_version_in_wal_mode)
{
	sqlite3 *db = open_fresh();
	sqlite3_stmt *st;

	ck_assert_int_eq(db_schema_version(db), db_latest_version());
	ck_assert_int_ge(db_latest_version(), 1);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	remove_db(db);
}
END_TEST

/* The bridge's heartbeat must not sleep in SQLite's busy handler: a write lock held
 * elsewhere answers at once, and the usual wait comes back afterwards. */
START_TEST(try_begin_answers_busy_at_once)
{
	sqlite3 *db = open_fresh(), *other = test_db_open(db_path);
	sqlite3_stmt *st;
	long long t0;

	ck_assert_int_eq(db_begin_immediate(other), 0);
	t0 = monotonic_ms();
	ck_assert_int_eq(db_try_begin_immediate(db), 1);
	ck_assert_int_lt(monotonic_ms() - t0, 500);
	ck_assert(sqlite3_get_autocommit(db));
	ck_assert_int_eq(db_commit(other), 0);
	ck_assert_int_eq(db_try_begin_immediate(db), 0);
	ck_assert(!sqlite3_get_autocommit(db));
	ck_assert_int_eq(db_commit(db), 0);
	/* Every other statement of the connection waits as before. */
	ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA busy_timeout", -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(st, 0), DB_BUSY_TIMEOUT_MS);
	sqlite3_finalize(st);
	db_close(other);
	remove_db(db);
}
END_TEST

START_TEST(reopening_is_idempotent)
{
	sqlite3 *db = open_fresh(), *again = NULL;
	char err[256];

	ck_assert_int_eq(db_open(db_path, &again, err, sizeof err), 0);
	ck_assert_int_eq(db_schema_version(again), db_latest_version());
	db_close(again);
	remove_db(db);
}
END_TEST

START_TEST(database_from_a_newer_periscope_is_refused)
{
	sqlite3 *db = open_fresh(), *again = NULL;
	char err[256], sql[64];

	snprintf(sql, sizeof sql, "PRAGMA user_version = %d", db_latest_version() + 1);
	ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(db_open(db_path, &again, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "newer periscope"));
	ck_assert_ptr_null(again);
	remove_db(db);
}
END_TEST

START_TEST(token_box_opens_only_with_the_sealing_cookie)
{
	unsigned char *sealed = NULL;
	size_t sealed_len = 0, len = 0;
	char *plain = NULL;

	ck_assert_int_eq(token_box_seal("cookie-a", "secret tokens", 13, &sealed, &sealed_len), 0);
	ck_assert_ptr_null(memmem(sealed, sealed_len, "secret", 6));
	ck_assert_int_eq(token_box_open("cookie-a", sealed, sealed_len, &plain, &len), 0);
	ck_assert_str_eq(plain, "secret tokens");
	free(plain);
	ck_assert_int_eq(token_box_open("cookie-b", sealed, sealed_len, &plain, &len), -1);
	sealed[sealed_len - 1] ^= 1;
	ck_assert_int_eq(token_box_open("cookie-a", sealed, sealed_len, &plain, &len), -1);
	free(sealed);
}
END_TEST

static void insert_session(sqlite3 *db, const char *cookie, long long now)
{
	struct login_session s = { 0 };
	char err[256];

	s.subject = "user-1";
	s.email = "u@example.com";
	s.groups_json = "[\"viewers\"]";
	s.tokens.access_token = "AT-1";
	s.tokens.refresh_token = "RT-1";
	s.tokens.id_token = "IDT-1";
	s.access_expires_at = now + 300;
	s.created_at = now;
	s.last_seen_at = now;
	s.absolute_expires_at = now + 3600;
	ck_assert_msg(session_store_insert(db, cookie, &s, err, sizeof err) == 0, "%s", err);
}

START_TEST(session_row_holds_neither_cookie_nor_tokens_in_clear)
{
	sqlite3 *db = open_fresh();
	struct login_session s;
	char err[256];
	sqlite3_stmt *st;
	const char *cookie = "c0ffee-cookie-value";

	insert_session(db, cookie, 1000);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT id_hash, tokens_sealed FROM login_sessions",
					    -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_ptr_null(strstr((const char *)sqlite3_column_text(st, 0), cookie));
	ck_assert_ptr_null(memmem(sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1),
				  "RT-1", 4));
	sqlite3_finalize(st);

	ck_assert_int_eq(session_store_load(db, cookie, &s, err, sizeof err), SESSION_FOUND);
	ck_assert_str_eq(s.subject, "user-1");
	ck_assert_str_eq(s.tokens.refresh_token, "RT-1");
	ck_assert_str_eq(s.tokens.id_token, "IDT-1");
	login_session_clear(&s);
	ck_assert_int_eq(session_store_load(db, "another-cookie", &s, err, sizeof err), SESSION_MISSING);
	remove_db(db);
}
END_TEST

/* A request's lookup reads the row without unsealing the tokens; they are unsealed only
 * when asked for, and not once the row is gone. */
START_TEST(session_row_loads_without_its_tokens_until_they_are_needed)
{
	sqlite3 *db = open_fresh();
	struct login_session s;
	char err[256];
	const char *cookie = "c0ffee-cookie-value";

	insert_session(db, cookie, 1000);
	ck_assert_int_eq(session_store_load_row(db, cookie, &s, err, sizeof err), SESSION_FOUND);
	ck_assert_str_eq(s.subject, "user-1");
	ck_assert_int_eq(s.absolute_expires_at, 4600);
	ck_assert(!s.tokens_loaded);
	ck_assert_ptr_null(s.tokens.refresh_token);
	ck_assert_int_eq(session_store_unseal(db, cookie, &s, err, sizeof err), 0);
	ck_assert(s.tokens_loaded);
	ck_assert_str_eq(s.tokens.refresh_token, "RT-1");
	ck_assert_str_eq(s.tokens.access_token, "AT-1");
	ck_assert_int_eq(session_store_unseal(db, cookie, &s, err, sizeof err), 0);
	login_session_clear(&s);

	ck_assert_int_eq(session_store_load_row(db, cookie, &s, err, sizeof err), SESSION_FOUND);
	ck_assert_int_eq(sqlite3_exec(db, "DELETE FROM login_sessions", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(session_store_unseal(db, cookie, &s, err, sizeof err), -1);
	ck_assert_str_eq(err, "the login session is gone");
	ck_assert_ptr_null(s.tokens.refresh_token);
	login_session_clear(&s);
	ck_assert_int_eq(session_store_load_row(db, "another-cookie", &s, err, sizeof err),
			 SESSION_MISSING);
	remove_db(db);
}
END_TEST

/* A kept statement comes back for the same SQL once done with, never while it is running,
 * and starts again with no bindings. */
START_TEST(kept_statements_are_reused_only_when_free)
{
	static const char sql[] = "SELECT ?1 UNION ALL SELECT 2";
	sqlite3 *db = open_fresh();
	sqlite3_stmt *a = NULL, *b = NULL, *c = NULL;

	ck_assert_int_eq(db_prepare_kept(db, sql, &a), 0);
	ck_assert_int_eq(sqlite3_bind_int(a, 1, 7), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(a), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(a, 0), 7);
	ck_assert_int_eq(db_prepare_kept(db, sql, &b), 0);
	ck_assert_ptr_ne(a, b);
	db_stmt_done(a);
	db_stmt_done(b);
	ck_assert_int_eq(db_prepare_kept(db, sql, &c), 0);
	ck_assert(c == a || c == b);
	ck_assert_int_eq(sqlite3_step(c), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_type(c, 0), SQLITE_NULL);
	db_stmt_done(c);
	remove_db(db);
}
END_TEST

START_TEST(refresh_claim_is_granted_once_until_released)
{
	sqlite3 *db = open_fresh();
	struct login_session s, fresh = { .tokens = { "AT-2", "RT-2", "IDT-2" },
					    .access_expires_at = 2000, .id_token_expires_at = 2100,
					    .email = "new@example.org", .groups_json = "[\"admins\"]" };
	char err[256];

	insert_session(db, "cookie", 1000);
	ck_assert_int_eq(session_store_load(db, "cookie", &s, err, sizeof err), SESSION_FOUND);
	ck_assert_int_eq(session_store_claim_refresh(db, s.id_hash, 1000, 15), 1);
	ck_assert_int_eq(session_store_claim_refresh(db, s.id_hash, 1001, 15), 0);
	/* An abandoned claim expires. */
	ck_assert_int_eq(session_store_claim_refresh(db, s.id_hash, 1016, 15), 1);
	ck_assert_int_eq(session_store_save_refreshed(db, "cookie", &fresh), 0);
	ck_assert_int_eq(session_store_claim_refresh(db, s.id_hash, 1017, 15), 1);
	login_session_clear(&s);
	ck_assert_int_eq(session_store_load(db, "cookie", &s, err, sizeof err), SESSION_FOUND);
	ck_assert_str_eq(s.tokens.access_token, "AT-2");
	ck_assert_int_eq(s.access_expires_at, 2000);
	ck_assert_int_eq(s.id_token_expires_at, 2100);
	/* The refreshed id_token's identity replaces the sign-in's. */
	ck_assert_str_eq(s.email, "new@example.org");
	ck_assert_str_eq(s.groups_json, "[\"admins\"]");
	login_session_clear(&s);
	remove_db(db);
}
END_TEST

/* The session of this id hash is gone, and its terminals would learn why: reason. */
static void assert_ended(sqlite3 *db, const char *id_hash, const char *reason)
{
	struct login_status st;

	ck_assert_int_eq(session_store_status(db, id_hash, &st), SESSION_MISSING);
	ck_assert_str_eq(st.end_reason, reason);
}

START_TEST(purge_removes_idle_and_expired_sessions)
{
	sqlite3 *db = open_fresh();
	struct login_session s;
	char err[256], idle_hash[SESSION_ID_HASH_LEN + 1];

	insert_session(db, "young", 1000);
	insert_session(db, "idle", 100);
	ck_assert_int_eq(session_id_hash("idle", idle_hash), 0);
	ck_assert_int_eq(session_store_purge(db, 1100, 600), 0);
	ck_assert_int_eq(session_store_load(db, "young", &s, err, sizeof err), SESSION_FOUND);
	login_session_clear(&s);
	ck_assert_int_eq(session_store_load(db, "idle", &s, err, sizeof err), SESSION_MISSING);
	/* A terminal of the purged session learns why it ended. */
	assert_ended(db, idle_hash, "session_expired");
	ck_assert_int_eq(session_store_purge(db, 1000 + 3600, 100000), 0);
	ck_assert_int_eq(session_store_load(db, "young", &s, err, sizeof err), SESSION_MISSING);
	/* The reasons are forgotten a day later. */
	ck_assert_int_eq(session_store_purge(db, 1100 + SESSION_END_KEEP_S, 100000), 0);
	assert_ended(db, idle_hash, "");
	remove_db(db);
}
END_TEST

START_TEST(ending_sessions_records_why_for_their_terminals)
{
	sqlite3 *db = open_fresh();
	struct login_status st;
	char a[SESSION_ID_HASH_LEN + 1], b[SESSION_ID_HASH_LEN + 1], c[SESSION_ID_HASH_LEN + 1];

	insert_session(db, "cookie-a", 1000);
	insert_session(db, "cookie-b", 1000);
	ck_assert_int_eq(session_id_hash("cookie-a", a), 0);
	ck_assert_int_eq(session_id_hash("cookie-b", b), 0);
	ck_assert_int_eq(session_id_hash("never-signed-in", c), 0);

	/* A live session: its clocks and groups, read without the cookie. */
	ck_assert_int_eq(session_store_status(db, a, &st), SESSION_FOUND);
	ck_assert_str_eq(st.subject, "user-1");
	ck_assert_str_eq(st.groups_json, "[\"viewers\"]");
	ck_assert_int_eq(st.last_seen_at, 1000);
	ck_assert_int_eq(st.absolute_expires_at, 1000 + 3600);
	login_status_clear(&st);

	ck_assert_int_eq(session_store_end(db, a, SESSION_END_EXPIRED, 1200), 0);
	assert_ended(db, a, "session_expired");
	ck_assert_int_eq(session_store_status(db, b, &st), SESSION_FOUND);
	login_status_clear(&st);

	/* Sign out everywhere: every session of the subject, and the reason for each. */
	ck_assert_int_eq(session_store_end_subject(db, "user-1", SESSION_END_SIGNED_OUT, 1300), 0);
	assert_ended(db, b, "signed_out");
	/* The earlier reason of a, recorded when a ended, stays. */
	assert_ended(db, a, "session_expired");
	assert_ended(db, c, "");
	remove_db(db);
}
END_TEST

START_TEST(login_attempts_are_one_shot_and_expire)
{
	sqlite3 *db = open_fresh();
	struct login_attempt a;

	ck_assert_int_eq(login_attempt_put(db, "10.0.0.1", "state-1", "nonce-1", "verifier-1", "/x", 1000), 0);
	ck_assert_int_eq(login_attempt_take(db, "state-1", 1001, &a), 1);
	ck_assert_str_eq(a.nonce, "nonce-1");
	ck_assert_str_eq(a.code_verifier, "verifier-1");
	ck_assert_str_eq(a.return_to, "/x");
	login_attempt_clear(&a);
	ck_assert_int_eq(login_attempt_take(db, "state-1", 1002, &a), 0);
	ck_assert_int_eq(login_attempt_put(db, "10.0.0.1", "state-2", "n", "v", "/", 1000), 0);
	ck_assert_int_eq(login_attempt_take(db, "state-2", 1000 + LOGIN_ATTEMPT_MAX_AGE_S + 1, &a), 0);
	remove_db(db);
}
END_TEST

static long long count_where(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long n = -1;

	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* One client's flood evicts only its own oldest attempts; many clients together stay under
 * the total; an oversized returnTo is not stored. */
START_TEST(login_attempts_are_bounded_per_client_and_in_total)
{
	sqlite3 *db = open_fresh();
	struct login_attempt a;
	char state[32], client[32], long_target[4000];

	ck_assert_int_eq(login_attempt_put(db, "10.0.0.2", "real-user", "n", "v", "/home", 1000), 0);
	for (int i = 0; i < 100; i++) {
		snprintf(state, sizeof state, "flood-%d", i);
		ck_assert_int_eq(login_attempt_put(db, "10.0.0.1", state, "n", "v", "/", 1000 + i), 0);
	}
	ck_assert_int_eq(count_where(db, "SELECT count(*) FROM oidc_logins WHERE client = '10.0.0.1'"), 16);
	/* The newest 16 of the flood are the ones kept. */
	ck_assert_int_eq(count_where(db, "SELECT min(created_at) FROM oidc_logins WHERE client = '10.0.0.1'"), 1084);
	ck_assert_int_eq(login_attempt_take(db, "real-user", 1200, &a), 1);
	ck_assert_str_eq(a.return_to, "/home");
	login_attempt_clear(&a);

	for (int i = 0; i < 1100; i++) {
		snprintf(state, sizeof state, "many-%d", i);
		snprintf(client, sizeof client, "10.1.%d.%d", i / 256, i % 256);
		ck_assert_int_eq(login_attempt_put(db, client, state, "n", "v", "/", 1300), 0);
	}
	ck_assert_int_eq(count_where(db, "SELECT count(*) FROM oidc_logins"), 1024);
	ck_assert_int_eq(login_attempt_take(db, "many-1099", 1300, &a), 1);
	login_attempt_clear(&a);

	memset(long_target, 'a', sizeof long_target - 1);
	long_target[0] = '/';
	long_target[sizeof long_target - 1] = '\0';
	ck_assert_int_eq(login_attempt_put(db, "10.0.0.3", "long", "n", "v", long_target, 1300), 0);
	ck_assert_int_le(count_where(db, "SELECT max(length(state) + length(nonce) + length(code_verifier)"
					 " + length(return_to) + length(client) + 8) FROM oidc_logins"),
			 2304);
	ck_assert_int_eq(login_attempt_take(db, "long", 1300, &a), 1);
	ck_assert_str_eq(a.return_to, "/");
	login_attempt_clear(&a);
	remove_db(db);
}
END_TEST

static Suite *db_suite(void)
{
	Suite *s = suite_create("db");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, fresh_database_reaches_latest_version_in_wal_mode);
	tcase_add_test(tc, reopening_is_idempotent);
	tcase_add_test(tc, try_begin_answers_busy_at_once);
	tcase_add_test(tc, session_row_loads_without_its_tokens_until_they_are_needed);
	tcase_add_test(tc, kept_statements_are_reused_only_when_free);
	tcase_add_test(tc, database_from_a_newer_periscope_is_refused);
	tcase_add_test(tc, token_box_opens_only_with_the_sealing_cookie);
	tcase_add_test(tc, session_row_holds_neither_cookie_nor_tokens_in_clear);
	tcase_add_test(tc, refresh_claim_is_granted_once_until_released);
	tcase_add_test(tc, purge_removes_idle_and_expired_sessions);
	tcase_add_test(tc, ending_sessions_records_why_for_their_terminals);
	tcase_add_test(tc, login_attempts_are_one_shot_and_expire);
	tcase_add_test(tc, login_attempts_are_bounded_per_client_and_in_total);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(db_suite)
