/* The storage layer (store/dbx.h) on both engines, and the module ported onto it as the
 * pattern (login sessions, store/session_store.h): every engine test runs twice, on SQLite
 * (_i == 0) and on a real PostgreSQL 15 (_i == 1, tests/unit/unit_pg.h). test_db.c keeps
 * testing the sqlite3 * API of the same module, unchanged. */
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>

#include "store/db.h"
#include "store/dbx.h"
#include "store/dbx_sql.h"
#include "store/migrations.h"
#include "store/pg_conn.h"
#include "store/session_store.h"
#include "unit.h"
#include "unit_db.h"
#include "unit_dbx.h"
#include "unit_pg.h"

static void assert_translates(const char *sql, const char *want, int want_n)
{
	char *out = NULL;
	int n = -1;

	ck_assert_int_eq(dbx_translate_placeholders(sql, DBX_MAX_PARAMS, &out, &n), 0);
	ck_assert_str_eq(out, want);
	ck_assert_int_eq(n, want_n);
	free(out);
}

static void assert_refuses(const char *sql)
{
	char *out = (char *)"untouched";
	int n = 5;

	ck_assert_int_eq(dbx_translate_placeholders(sql, DBX_MAX_PARAMS, &out, &n), -1);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(n, 0);
}

/* SQLite's numbering, in PostgreSQL's spelling; quoted text and comments left alone. */
START_TEST(placeholders_become_dollar_numbers)
{
	assert_translates("SELECT a FROM t WHERE b = ? AND c = ?", "SELECT a FROM t WHERE b = $1 AND c = $2", 2);
	assert_translates("UPDATE t SET a = ?2 WHERE b = ?1", "UPDATE t SET a = $2 WHERE b = $1", 2);
	/* A bare ? takes the number after the largest so far, as in SQLite. */
	assert_translates("VALUES (?3, ?, ?1)", "VALUES ($3, $4, $1)", 4);
	assert_translates("SELECT '?', \"a?\", 'it''s ?' -- ?\n, ?", "SELECT '?', \"a?\", 'it''s ?' -- ?\n, $1", 1);
	assert_translates("SELECT /* ? */ ?", "SELECT /* ? */ $1", 1);
	assert_translates("SELECT 1", "SELECT 1", 0);
	assert_refuses("SELECT ?0");
	assert_refuses("SELECT ?33");
	assert_refuses("SELECT ?99999999999999999999");
	assert_refuses("SELECT 'open");
	assert_refuses("SELECT /* open");
}
END_TEST

/* The two engines' migrations carry the same version numbers, so a schema version means
 * the same on both, and the refusal of a newer one is the same. */
START_TEST(both_engines_have_the_same_migration_versions)
{
	ck_assert_uint_eq(pg_migrations_count, migrations_count);
	for (size_t i = 0; i < migrations_count; i++) {
		ck_assert_int_eq(pg_migrations[i].version, migrations[i].version);
		/* Same name after the number: sql/pg/NNN_x.sql mirrors sql/NNN_x.sql. */
		ck_assert_str_eq(pg_migrations[i].name, migrations[i].name);
	}
}
END_TEST

static int schema_version(struct unit_dbx *f)
{
	char err[256];

	if (f->engine == UNIT_SQLITE)
		return db_schema_version(f->db->lite);
	return pg_schema_version((PGconn *)f->db->pg, err, sizeof err);
}

START_TEST(fresh_database_reaches_the_latest_version_once)
{
	struct unit_dbx f;
	struct dbx *again = NULL;
	char err[512];

	unit_dbx_open(&f, _i);
	ck_assert_int_eq(schema_version(&f), db_latest_version());
	/* A second open (another replica, a restart) finds nothing to do. */
	ck_assert_msg(dbx_open(f.url, NULL, &again, err, sizeof err) == 0, "%s", err);
	dbx_close(again);
	if (_i == UNIT_POSTGRES) {
		struct dbx_stmt *st = NULL;

		ck_assert_int_eq(dbx_prepare(f.db, "SELECT count(*), max(version) FROM schema_version", &st), 0);
		ck_assert_int_eq(dbx_step(st), DBX_ROW);
		ck_assert_int_eq(dbx_column_int64(st, 0), (long long)pg_migrations_count);
		ck_assert_int_eq(dbx_column_int64(st, 1), db_latest_version());
		dbx_finalize(st);
	}
	unit_dbx_close(&f);
}
END_TEST

START_TEST(a_schema_from_a_newer_periscope_is_refused)
{
	struct unit_dbx f;
	struct dbx *again = NULL;
	char err[512], want[256], sql[128];

	unit_dbx_open(&f, _i);
	if (_i == UNIT_SQLITE)
		snprintf(sql, sizeof sql, "PRAGMA user_version = %d", db_latest_version() + 1);
	else
		snprintf(sql, sizeof sql, "INSERT INTO schema_version VALUES (%d, 'future.sql', 0)",
			 db_latest_version() + 1);
	{
		struct dbx_stmt *st = NULL;

		ck_assert_int_eq(dbx_prepare(f.db, sql, &st), 0);
		ck_assert_int_eq(dbx_step(st), DBX_DONE);
		dbx_finalize(st);
	}
	ck_assert_int_eq(dbx_open(f.url, NULL, &again, err, sizeof err), -1);
	ck_assert_ptr_null(again);
	snprintf(want, sizeof want, "the database has schema version %d but this periscope knows "
		 "only up to %d: it was written by a newer periscope; upgrade periscope or restore "
		 "a backup", db_latest_version() + 1, db_latest_version());
	ck_assert_str_eq(err, want);
	unit_dbx_close(&f);
}
END_TEST

/* Blobs with every byte value, 64-bit integers, NULL and text make the round trip, and a
 * rolled-back write leaves nothing. */
START_TEST(values_round_trip_and_rollback_undoes)
{
	static const unsigned char blob[] = { 0x00, 0xff, '\\', 'x', 0x01, 0x00, 'e' };
	struct unit_dbx f;
	struct dbx_stmt *st = NULL;
	const void *got;
	size_t len = 0;

	unit_dbx_open(&f, _i);
	ck_assert_int_eq(dbx_prepare(f.db, dbx_sql(f.db, "CREATE TABLE x (b BLOB, i INTEGER, t TEXT)",
						   "CREATE TABLE x (b BYTEA, i BIGINT, t TEXT)"), &st), 0);
	ck_assert_int_eq(dbx_step(st), DBX_DONE);
	dbx_finalize(st);

	ck_assert_int_eq(dbx_prepare(f.db, "INSERT INTO x (b, i, t) VALUES (?, ?, ?), (NULL, ?2, 'two')", &st), 0);
	ck_assert_int_eq(dbx_param_count(st), 3);
	ck_assert_int_eq(dbx_bind_blob(st, 1, blob, sizeof blob), 0);
	ck_assert_int_eq(dbx_bind_int64(st, 2, LLONG_MIN), 0);
	ck_assert_int_eq(dbx_bind_text_or_null(st, 3, ""), 0);
	ck_assert_int_eq(dbx_step(st), DBX_DONE);
	ck_assert_int_eq(dbx_changes(st), 2);
	dbx_finalize(st);

	ck_assert_int_eq(dbx_prepare(f.db, "SELECT b, i, t FROM x ORDER BY t IS NULL DESC", &st), 0);
	ck_assert_int_eq(dbx_step(st), DBX_ROW);
	got = dbx_column_blob(st, 0, &len);
	ck_assert_uint_eq(len, sizeof blob);
	ck_assert_mem_eq(got, blob, sizeof blob);
	ck_assert_int_eq(dbx_column_int64(st, 1), LLONG_MIN);
	ck_assert(dbx_column_is_null(st, 2));
	ck_assert_ptr_null(dbx_column_text(st, 2));
	ck_assert_int_eq(dbx_step(st), DBX_ROW);
	ck_assert(dbx_column_is_null(st, 0));
	ck_assert_str_eq(dbx_column_text(st, 2), "two");
	ck_assert_int_eq(dbx_step(st), DBX_DONE);
	dbx_finalize(st);

	ck_assert_int_eq(dbx_begin_write(f.db), 0);
	ck_assert_int_eq(dbx_prepare(f.db, "DELETE FROM x", &st), 0);
	ck_assert_int_eq(dbx_step(st), DBX_DONE);
	ck_assert_int_eq(dbx_changes(st), 2);
	dbx_finalize(st);
	dbx_rollback(f.db);
	ck_assert_int_eq(dbx_prepare(f.db, "SELECT count(*) FROM x", &st), 0);
	ck_assert_int_eq(dbx_step(st), DBX_ROW);
	ck_assert_int_eq(dbx_column_int64(st, 0), 2);
	dbx_finalize(st);

	/* A statement the engine refuses says why. */
	ck_assert_int_eq(dbx_prepare(f.db, "SELECT nosuchcolumn FROM x", &st) == 0 &&
			 dbx_step(st) == DBX_ROW, 0);
	ck_assert_ptr_nonnull(strstr(dbx_errmsg(f.db), "nosuchcolumn"));
	dbx_finalize(st);
	unit_dbx_close(&f);
}
END_TEST

static void insert_session(struct dbx *db, const char *cookie, long long now)
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
	ck_assert_msg(session_store_insert_dbx(db, cookie, &s, err, sizeof err) == 0, "%s", err);
}

static void assert_ended(struct dbx *db, const char *id_hash, const char *reason)
{
	struct login_status st;

	ck_assert_int_eq(session_store_status_dbx(db, id_hash, &st), SESSION_MISSING);
	ck_assert_str_eq(st.end_reason, reason);
}

/* test_db.c's session tests, on the dbx API of each engine. */
START_TEST(sessions_load_unseal_and_refuse_other_cookies)
{
	struct unit_dbx f;
	struct login_session s;
	char err[256];
	const char *cookie = "c0ffee-cookie-value";

	unit_dbx_open(&f, _i);
	insert_session(f.db, cookie, 1000);
	ck_assert_int_eq(session_store_load_dbx(f.db, cookie, &s, err, sizeof err), SESSION_FOUND);
	ck_assert_str_eq(s.subject, "user-1");
	ck_assert_str_eq(s.email, "u@example.com");
	ck_assert_str_eq(s.tokens.refresh_token, "RT-1");
	ck_assert_str_eq(s.tokens.id_token, "IDT-1");
	login_session_clear(&s);
	ck_assert_int_eq(session_store_load_dbx(f.db, "another-cookie", &s, err, sizeof err), SESSION_MISSING);

	ck_assert_int_eq(session_store_load_row_dbx(f.db, cookie, &s, err, sizeof err), SESSION_FOUND);
	ck_assert_int_eq(s.absolute_expires_at, 4600);
	ck_assert(!s.tokens_loaded);
	ck_assert_ptr_null(s.tokens.refresh_token);
	ck_assert_int_eq(session_store_unseal_dbx(f.db, cookie, &s, err, sizeof err), 0);
	ck_assert_str_eq(s.tokens.access_token, "AT-1");
	login_session_clear(&s);

	ck_assert_int_eq(session_store_load_row_dbx(f.db, cookie, &s, err, sizeof err), SESSION_FOUND);
	ck_assert_int_eq(session_store_touch_dbx(f.db, s.id_hash, 1500), 0);
	ck_assert_int_eq(session_store_end_dbx(f.db, s.id_hash, SESSION_END_SIGNED_OUT, 1600), 0);
	ck_assert_int_eq(session_store_unseal_dbx(f.db, cookie, &s, err, sizeof err), -1);
	ck_assert_str_eq(err, "the login session is gone");
	login_session_clear(&s);
	unit_dbx_close(&f);
}
END_TEST

START_TEST(sessions_refresh_claim_is_granted_once_until_released)
{
	struct unit_dbx f;
	struct login_session s, fresh = { .tokens = { "AT-2", "RT-2", "IDT-2" },
					    .access_expires_at = 2000, .id_token_expires_at = 2100,
					    .email = "new@example.org", .groups_json = "[\"admins\"]" };
	char err[256];

	unit_dbx_open(&f, _i);
	insert_session(f.db, "cookie", 1000);
	ck_assert_int_eq(session_store_load_dbx(f.db, "cookie", &s, err, sizeof err), SESSION_FOUND);
	ck_assert_int_eq(session_store_claim_refresh_dbx(f.db, s.id_hash, 1000, 15), 1);
	ck_assert_int_eq(session_store_claim_refresh_dbx(f.db, s.id_hash, 1001, 15), 0);
	ck_assert_int_eq(session_store_claim_refresh_dbx(f.db, s.id_hash, 1016, 15), 1);
	ck_assert_int_eq(session_store_release_claim_dbx(f.db, s.id_hash), 0);
	ck_assert_int_eq(session_store_claim_refresh_dbx(f.db, s.id_hash, 1017, 15), 1);
	ck_assert_int_eq(session_store_save_refreshed_dbx(f.db, "cookie", &fresh), 0);
	ck_assert_int_eq(session_store_claim_refresh_dbx(f.db, s.id_hash, 1018, 15), 1);
	login_session_clear(&s);
	ck_assert_int_eq(session_store_load_dbx(f.db, "cookie", &s, err, sizeof err), SESSION_FOUND);
	ck_assert_str_eq(s.tokens.access_token, "AT-2");
	ck_assert_int_eq(s.access_expires_at, 2000);
	ck_assert_int_eq(s.id_token_expires_at, 2100);
	ck_assert_str_eq(s.email, "new@example.org");
	ck_assert_str_eq(s.groups_json, "[\"admins\"]");
	login_session_clear(&s);
	unit_dbx_close(&f);
}
END_TEST

START_TEST(sessions_purge_and_end_record_why)
{
	struct unit_dbx f;
	struct login_session s;
	struct login_status st;
	char err[256], idle[SESSION_ID_HASH_LEN + 1], a[SESSION_ID_HASH_LEN + 1],
		b[SESSION_ID_HASH_LEN + 1];

	unit_dbx_open(&f, _i);
	insert_session(f.db, "young", 1000);
	insert_session(f.db, "idle", 100);
	ck_assert_int_eq(session_id_hash("idle", idle), 0);
	ck_assert_int_eq(session_store_purge_dbx(f.db, 1100, 600), 0);
	ck_assert_int_eq(session_store_load_dbx(f.db, "young", &s, err, sizeof err), SESSION_FOUND);
	login_session_clear(&s);
	ck_assert_int_eq(session_store_load_dbx(f.db, "idle", &s, err, sizeof err), SESSION_MISSING);
	assert_ended(f.db, idle, "session_expired");
	/* Purged again later, the reason is replaced in place (INSERT OR REPLACE / ON CONFLICT). */
	insert_session(f.db, "idle", 200);
	ck_assert_int_eq(session_store_purge_dbx(f.db, 1200, 600), 0);
	assert_ended(f.db, idle, "session_expired");
	ck_assert_int_eq(session_store_purge_dbx(f.db, 1200 + SESSION_END_KEEP_S, 100000), 0);
	assert_ended(f.db, idle, "");

	insert_session(f.db, "cookie-a", 1000);
	insert_session(f.db, "cookie-b", 1000);
	ck_assert_int_eq(session_id_hash("cookie-a", a), 0);
	ck_assert_int_eq(session_id_hash("cookie-b", b), 0);
	ck_assert_int_eq(session_store_status_dbx(f.db, a, &st), SESSION_FOUND);
	ck_assert_str_eq(st.subject, "user-1");
	ck_assert_str_eq(st.groups_json, "[\"viewers\"]");
	ck_assert_int_eq(st.last_seen_at, 1000);
	ck_assert_int_eq(st.absolute_expires_at, 4600);
	login_status_clear(&st);
	ck_assert_int_eq(session_store_end_dbx(f.db, a, SESSION_END_EXPIRED, 1200), 0);
	assert_ended(f.db, a, "session_expired");
	ck_assert_int_eq(session_store_end_subject_dbx(f.db, "user-1", SESSION_END_SIGNED_OUT, 1300), 0);
	assert_ended(f.db, b, "signed_out");
	assert_ended(f.db, a, "session_expired");
	unit_dbx_close(&f);
}
END_TEST

/* Replicas (here threads, each with its own connection) that find the same session's tokens
 * due at the same moment: exactly one of them may refresh. */
#define CLAIMERS 8

struct claimer {
	const char *url;
	const char *id_hash;
	pthread_barrier_t *start;
	int result;
};

static void *claim_once(void *arg)
{
	struct claimer *c = arg;
	struct dbx *db = NULL;
	char err[512];

	c->result = -2;
	if (dbx_open(c->url, NULL, &db, err, sizeof err) != 0) {
		fprintf(stderr, "# claimer: %s\n", err);
		pthread_barrier_wait(c->start);
		return NULL;
	}
	pthread_barrier_wait(c->start);
	c->result = session_store_claim_refresh_dbx(db, c->id_hash, 5000, 15);
	dbx_close(db);
	return NULL;
}

START_TEST(sessions_refresh_is_claimed_once_across_connections)
{
	struct unit_dbx f;
	struct claimer c[CLAIMERS];
	pthread_t threads[CLAIMERS];
	pthread_barrier_t start;
	char id_hash[SESSION_ID_HASH_LEN + 1];
	int granted = 0;

	unit_dbx_open(&f, _i);
	insert_session(f.db, "cookie", 1000);
	ck_assert_int_eq(session_id_hash("cookie", id_hash), 0);
	ck_assert_int_eq(pthread_barrier_init(&start, NULL, CLAIMERS), 0);
	for (int i = 0; i < CLAIMERS; i++) {
		c[i] = (struct claimer){ .url = f.url, .id_hash = id_hash, .start = &start };
		ck_assert_int_eq(pthread_create(&threads[i], NULL, claim_once, &c[i]), 0);
	}
	for (int i = 0; i < CLAIMERS; i++) {
		ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
		ck_assert_msg(c[i].result == 0 || c[i].result == 1, "claimer %d: %d", i, c[i].result);
		granted += c[i].result;
	}
	pthread_barrier_destroy(&start);
	ck_assert_int_eq(granted, 1);
	unit_dbx_close(&f);
}
END_TEST

/* What a client sends first on a TCP connection, as a PostgreSQL server reads it: a listener
 * on loopback takes one connection, reads the 8-byte packet (length, code) and answers an
 * SSLRequest with 'N', as a server without SSL does (PostgreSQL's postmaster.c
 * ProcessStartupPacket), then closes. libpq (fe-connect.c PQconnectPoll,
 * CONNECTION_SSL_STARTUP) then fails a connection whose sslmode is require or verify-*. */
struct first_packet {
	int listener;
	uint32_t code;
};

static void *read_first_packet(void *arg)
{
	struct first_packet *fp = arg;
	struct pollfd pfd = { .fd = fp->listener, .events = POLLIN };
	unsigned char packet[8];
	size_t got = 0;
	ssize_t n;
	int c;

	/* A client that never comes (the URL not taken as libpq's) fails the test, not hangs it. */
	if (poll(&pfd, 1, 30000) != 1)
		return NULL;
	c = accept(fp->listener, NULL, NULL);
	if (c < 0)
		return NULL;
	while (got < sizeof packet && (n = read(c, packet + got, sizeof packet - got)) > 0)
		got += (size_t)n;
	if (got == sizeof packet) {
		fp->code = (uint32_t)packet[4] << 24 | (uint32_t)packet[5] << 16 |
			   (uint32_t)packet[6] << 8 | packet[7];
		if (fp->code == 80877103 && write(c, "N", 1) != 1)
			fp->code = 0;
	}
	close(c);
	return NULL;
}

/* Connects to the URL before_port, the listener's port, after_port with a password; returns
 * the first packet's code and leaves dbx_open's error in err. */
static uint32_t first_packet_of(const char *before_port, const char *after_port, char *err,
				size_t errlen)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof addr;
	struct first_packet fp = { .listener = socket(AF_INET, SOCK_STREAM, 0) };
	struct dbx *db = NULL;
	pthread_t t;
	char url[256];

	ck_assert_int_ge(fp.listener, 0);
	ck_assert_int_eq(bind(fp.listener, (struct sockaddr *)&addr, sizeof addr), 0);
	ck_assert_int_eq(listen(fp.listener, 1), 0);
	ck_assert_int_eq(getsockname(fp.listener, (struct sockaddr *)&addr, &len), 0);
	snprintf(url, sizeof url, "%s%d%s", before_port, ntohs(addr.sin_port), after_port);
	ck_assert_int_eq(pthread_create(&t, NULL, read_first_packet, &fp), 0);
	ck_assert_int_eq(dbx_open(url, "pg-hunter2", &db, err, errlen), -1);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	close(fp.listener);
	ck_assert_ptr_null(db);
	ck_assert_ptr_null(strstr(err, "pg-hunter2"));
	return fp.code;
}

/* database.url's sslmode is libpq's: require asks the server for TLS before anything else
 * and refuses one that has none; disable sends the startup packet in the clear. Neither
 * error shows the password. (gssencmode=disable: no GSSAPI request comes first.) */
START_TEST(sslmode_in_the_url_is_what_libpq_uses)
{
	char err[512];

	ck_assert_uint_eq(first_packet_of("postgres://periscope@127.0.0.1:",
					  "/periscope?sslmode=require&gssencmode=disable", err,
					  sizeof err),
			  80877103); /* SSLRequest */
	ck_assert_msg(strstr(err, "server does not support SSL, but SSL was required"), "%s", err);
	ck_assert_uint_eq(first_packet_of("host=127.0.0.1 port=", " dbname=periscope user=periscope"
					  " sslmode=disable gssencmode=disable", err, sizeof err),
			  196608); /* StartupMessage, protocol 3.0 */
	ck_assert_msg(strstr(err, "cannot connect to PostgreSQL: "), "%s", err);
}
END_TEST

/* The URL's own keywords win over periscope's defaults (connect_timeout 10 s and
 * application_name "periscope" when it names none): an operator's application_name is the
 * one the server sees. PostgreSQL only (_i is 1). */
START_TEST(the_urls_keywords_win_over_the_defaults)
{
	struct dbx *db = NULL;
	struct dbx_stmt *st = NULL;
	char url[1400], err[512];

	unit_pg_fresh_db(url, sizeof url);
	ck_assert_msg(dbx_open(url, NULL, &db, err, sizeof err) == 0, "%s", err);
	ck_assert_int_eq(dbx_prepare(db, "SELECT current_setting('application_name')", &st), 0);
	ck_assert_int_eq(dbx_step(st), DBX_ROW);
	ck_assert_str_eq(dbx_column_text(st, 0), "periscope");
	dbx_finalize(st);
	dbx_close(db);
	strncat(url, " application_name=periscope-replica-b", sizeof url - strlen(url) - 1);
	ck_assert_msg(dbx_open(url, NULL, &db, err, sizeof err) == 0, "%s", err);
	ck_assert_int_eq(dbx_prepare(db, "SELECT current_setting('application_name')", &st), 0);
	ck_assert_int_eq(dbx_step(st), DBX_ROW);
	ck_assert_str_eq(dbx_column_text(st, 0), "periscope-replica-b");
	dbx_finalize(st);
	dbx_close(db);
	unit_pg_drop_db();
}
END_TEST

static Suite *dbx_suite(int engines)
{
	Suite *s = suite_create("dbx");
	TCase *layer = tcase_create("layer"), *engine = tcase_create("engines");

	tcase_add_test(layer, placeholders_become_dollar_numbers);
	tcase_add_test(layer, both_engines_have_the_same_migration_versions);
	tcase_add_test(layer, sslmode_in_the_url_is_what_libpq_uses);
	/* PostgreSQL's first CREATE DATABASE can take seconds on a loaded machine. */
	tcase_set_timeout(engine, 120);
	tcase_add_loop_test(engine, fresh_database_reaches_the_latest_version_once, 0, engines);
	tcase_add_loop_test(engine, a_schema_from_a_newer_periscope_is_refused, 0, engines);
	tcase_add_loop_test(engine, the_urls_keywords_win_over_the_defaults, 1, engines);
	tcase_add_loop_test(engine, values_round_trip_and_rollback_undoes, 0, engines);
	tcase_add_loop_test(engine, sessions_load_unseal_and_refuse_other_cookies, 0, engines);
	tcase_add_loop_test(engine, sessions_refresh_claim_is_granted_once_until_released, 0, engines);
	tcase_add_loop_test(engine, sessions_purge_and_end_record_why, 0, engines);
	tcase_add_loop_test(engine, sessions_refresh_is_claimed_once_across_connections, 0, engines);
	suite_add_tcase(s, layer);
	suite_add_tcase(s, engine);
	return s;
}

int main(void)
{
	return unit_dbx_main(dbx_suite);
}
