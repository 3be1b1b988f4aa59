/* A PostgreSQL connection (store/dbx.h) across a server restart: the server this program
 * started (tests/unit/unit_pg.h) is stopped and started again under an open connection, as
 * a restart or a failover does to a replica. Outside a transaction the next statement runs
 * on a new connection; inside one the transaction fails as a whole and is not continued on
 * the new connection. */
#include "store/dbx.h"
#include "unit.h"
#include "unit_pg.h"

static struct dbx *open_fresh(void)
{
	char url[1200], err[512];
	struct dbx *db = NULL;

	unit_pg_fresh_db(url, sizeof url);
	ck_assert_msg(dbx_open(url, NULL, &db, err, sizeof err) == 0, "%s", err);
	return db;
}

static void run(struct dbx *db, const char *sql)
{
	struct dbx_stmt *st = NULL;

	ck_assert_msg(dbx_prepare(db, sql, &st) == 0, "%s: %s", sql, dbx_errmsg(db));
	ck_assert_msg(dbx_step(st) == DBX_DONE, "%s: %s", sql, dbx_errmsg(db));
	dbx_finalize(st);
}

/* One integer from a one-row query; fails the test when the query fails. */
static long long one_int(struct dbx *db, const char *sql)
{
	struct dbx_stmt *st = NULL;
	long long v;

	ck_assert_msg(dbx_prepare(db, sql, &st) == 0, "%s: %s", sql, dbx_errmsg(db));
	ck_assert_msg(dbx_step(st) == DBX_ROW, "%s: %s", sql, dbx_errmsg(db));
	v = dbx_column_int64(st, 0);
	dbx_finalize(st);
	return v;
}

/* The statement fails: DBX_ERROR, with a message. */
static void refused(struct dbx *db, const char *sql, const char *why_contains)
{
	struct dbx_stmt *st = NULL;

	ck_assert_int_eq(dbx_prepare(db, sql, &st), 0);
	ck_assert_int_eq(dbx_step(st), DBX_ERROR);
	ck_assert_msg(strstr(dbx_errmsg(db), why_contains), "%s: \"%s\" does not say \"%s\"", sql,
		      dbx_errmsg(db), why_contains);
	dbx_finalize(st);
}

static void close_fresh(struct dbx *db)
{
	dbx_close(db);
	unit_pg_drop_db();
}

/* An idle connection whose server restarted: the next read and the next write succeed,
 * on one new connection, and the write is applied once. */
START_TEST(statement_after_a_restart_runs_on_a_new_connection)
{
	struct dbx *db = open_fresh();

	run(db, "CREATE TABLE t (id BIGINT PRIMARY KEY)");
	ck_assert_int_eq(one_int(db, "SELECT 41 + 1"), 42);
	unit_pg_server("restart");
	ck_assert_int_eq(one_int(db, "SELECT count(*) FROM t"), 0);
	ck_assert_uint_eq(db->reconnects, 1);
	unit_pg_server("restart");
	run(db, "INSERT INTO t (id) VALUES (7)");
	ck_assert_uint_eq(db->reconnects, 2);
	ck_assert_int_eq(one_int(db, "SELECT count(*) FROM t WHERE id = 7"), 1);
	/* A transaction after the reconnect works as ever. */
	ck_assert_int_eq(dbx_begin_write(db), 0);
	run(db, "INSERT INTO t (id) VALUES (8)");
	ck_assert_int_eq(dbx_commit(db), 0);
	ck_assert_int_eq(one_int(db, "SELECT count(*) FROM t"), 2);
	close_fresh(db);
}
END_TEST

/* A restart in the middle of a transaction: the next statement fails, and so does every
 * one after it (nothing runs outside the transaction the caller believes it is in) until
 * the caller rolls back; the work done before the restart is not there, and the same
 * connection then serves the transaction run again. */
START_TEST(transaction_cut_by_a_restart_fails_whole)
{
	struct dbx *db = open_fresh();

	run(db, "CREATE TABLE t (id BIGINT PRIMARY KEY)");
	ck_assert_int_eq(dbx_begin_write(db), 0);
	run(db, "INSERT INTO t (id) VALUES (1)");
	unit_pg_server("restart");
	refused(db, "INSERT INTO t (id) VALUES (2)", "");
	refused(db, "INSERT INTO t (id) VALUES (3)", "broke inside this transaction");
	ck_assert_int_eq(dbx_commit(db), -1);
	ck_assert_uint_eq(db->reconnects, 0);
	ck_assert(dbx_in_transaction(db));
	dbx_rollback(db);
	ck_assert(!dbx_in_transaction(db));
	ck_assert_int_eq(one_int(db, "SELECT count(*) FROM t"), 0);
	ck_assert_uint_eq(db->reconnects, 1);
	ck_assert_int_eq(dbx_begin_write(db), 0);
	run(db, "INSERT INTO t (id) VALUES (1)");
	run(db, "INSERT INTO t (id) VALUES (2)");
	ck_assert_int_eq(dbx_commit(db), 0);
	ck_assert_int_eq(one_int(db, "SELECT count(*) FROM t"), 2);
	close_fresh(db);
}
END_TEST

/* A commit whose connection broke is not sent again on a new one: it fails, and the
 * transaction's rows are not there. */
START_TEST(commit_on_a_broken_connection_fails)
{
	struct dbx *db = open_fresh();

	run(db, "CREATE TABLE t (id BIGINT PRIMARY KEY)");
	ck_assert_int_eq(dbx_begin_write(db), 0);
	run(db, "INSERT INTO t (id) VALUES (1)");
	unit_pg_server("restart");
	ck_assert_int_eq(dbx_commit(db), -1);
	dbx_rollback(db);
	ck_assert_int_eq(one_int(db, "SELECT count(*) FROM t"), 0);
	close_fresh(db);
}
END_TEST

/* While the server is down statements fail at once with libpq's reason (no hang, no
 * crash); once it is back the same connection serves again. */
START_TEST(outage_fails_statements_until_the_server_is_back)
{
	struct dbx *db = open_fresh();

	ck_assert_int_eq(one_int(db, "SELECT 1"), 1);
	unit_pg_server("down");
	refused(db, "SELECT 1", "");
	ck_assert_msg(*dbx_errmsg(db), "no reason given for the failure");
	ck_assert_int_eq(dbx_begin_write(db), -1);
	dbx_rollback(db);
	refused(db, "SELECT 2", "");
	/* A connection that broke between transactions holds none (a module asking before a
	 * SAVEPOINT must begin one instead). */
	ck_assert(!dbx_in_transaction(db));
	unit_pg_server("up");
	ck_assert_int_eq(one_int(db, "SELECT 3"), 3);
	ck_assert_int_eq(dbx_begin_write(db), 0);
	ck_assert_int_eq(one_int(db, "SELECT 4"), 4);
	ck_assert_int_eq(dbx_commit(db), 0);
	close_fresh(db);
}
END_TEST

int main(void)
{
	struct unit_pg pg;
	int have_pg = unit_pg_start(&pg), failed;
	Suite *s;
	TCase *tc;
	SRunner *sr;

	if (have_pg == UNIT_PG_SKIP) {
		fprintf(stderr, "# PostgreSQL is not installed: nothing to restart\n");
		return UNIT_PG_SKIP;
	}
	if (have_pg < 0 || !unit_pg_owned()) {
		fprintf(stderr, "# needs a PostgreSQL test cluster of its own (PERISCOPE_TEST_PG_URL "
			"names a server this test may not restart)\n");
		unit_pg_stop(&pg);
		return have_pg < 0 ? EXIT_FAILURE : UNIT_PG_SKIP;
	}
	s = suite_create("pg_reconnect");
	tc = tcase_create("restart");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, statement_after_a_restart_runs_on_a_new_connection);
	tcase_add_test(tc, transaction_cut_by_a_restart_fails_whole);
	tcase_add_test(tc, commit_on_a_broken_connection_fails);
	tcase_add_test(tc, outage_fails_statements_until_the_server_is_back);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	unit_pg_stop(&pg);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
