/* A fresh database of either engine for the C unit tests that run each behaviour on both
 * (_i == UNIT_SQLITE, then _i == UNIT_POSTGRES when tests/unit/unit_pg.h found a server):
 * opened and migrated through dbx_open, its URL kept so that threads standing for other
 * replicas can open connections of their own. */
#ifndef PERISCOPE_UNIT_DBX_H
#define PERISCOPE_UNIT_DBX_H

#include "store/dbx.h"
#include "unit.h"
#include "unit_db.h"
#include "unit_pg.h"

enum { UNIT_SQLITE, UNIT_POSTGRES };

struct unit_dbx {
	struct dbx *db;
	int engine;
	char path[TEST_DB_PATH_MAX];
	char url[1200];
};

static inline void unit_dbx_open(struct unit_dbx *f, int engine)
{
	char err[512];

	memset(f, 0, sizeof *f);
	f->engine = engine;
	if (engine == UNIT_SQLITE) {
		test_db_create(f->path);
		snprintf(f->url, sizeof f->url, "sqlite:%s", f->path);
	} else {
		unit_pg_fresh_db(f->url, sizeof f->url);
	}
	ck_assert_msg(dbx_open(f->url, NULL, &f->db, err, sizeof err) == 0, "%s", err);
}

/* Another connection to the same database (another process, or another replica). */
static inline struct dbx *unit_dbx_connect(const struct unit_dbx *f)
{
	struct dbx *db = NULL;
	char err[512];

	ck_assert_msg(dbx_open(f->url, NULL, &db, err, sizeof err) == 0, "%s", err);
	return db;
}

static inline void unit_dbx_close(struct unit_dbx *f)
{
	dbx_close(f->db);
	f->db = NULL;
	if (f->engine == UNIT_SQLITE)
		test_db_remove(f->path);
	else
		unit_pg_drop_db();
}

/* Runs one statement that returns no row (test setup). */
static inline void unit_dbx_exec(struct dbx *db, const char *sql)
{
	struct dbx_stmt *st = NULL;

	ck_assert_msg(dbx_prepare(db, sql, &st) == 0, "%s: %s", sql, dbx_errmsg(db));
	ck_assert_msg(dbx_step(st) == DBX_DONE, "%s: %s", sql, dbx_errmsg(db));
	dbx_finalize(st);
}

/* The first column of a one-row query, as an integer. */
static inline long long unit_dbx_int(struct dbx *db, const char *sql)
{
	struct dbx_stmt *st = NULL;
	long long v;

	ck_assert_msg(dbx_prepare(db, sql, &st) == 0, "%s: %s", sql, dbx_errmsg(db));
	ck_assert_msg(dbx_step(st) == DBX_ROW, "%s: %s", sql, dbx_errmsg(db));
	v = dbx_column_int64(st, 0);
	dbx_finalize(st);
	return v;
}

/* A both-engines test program's main: starts the PostgreSQL test cluster (or says it is
 * not installed, which unit_pg.h never allows under CI=true), runs the suite that
 * make_suite(engines) builds for one or both engines, and stops the cluster. */
static inline int unit_dbx_main(Suite *(*make_suite)(int engines))
{
	struct unit_pg pg;
	int have_pg = unit_pg_start(&pg), failed;
	SRunner *sr;

	if (have_pg < 0) {
		fprintf(stderr, "# the PostgreSQL test cluster did not start\n");
		return EXIT_FAILURE;
	}
	if (have_pg == UNIT_PG_SKIP)
		fprintf(stderr, "# PostgreSQL is not installed: the PostgreSQL half is skipped\n");
	sr = srunner_create(make_suite(have_pg == 0 ? 2 : 1));
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	unit_pg_stop(&pg);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
