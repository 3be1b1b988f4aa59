/* A PostgreSQL for the C unit tests: PERISCOPE_TEST_PG_URL when set (a libpq "key=value"
 * connection string), else a throwaway cluster started by tests/lib/pg-cluster.sh for the
 * whole test program and stopped at its end. Each test takes a fresh database of its own
 * (Check runs every test in a forked child: the child's pid names it). */
#ifndef PERISCOPE_UNIT_PG_H
#define PERISCOPE_UNIT_PG_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"

#define UNIT_PG_SKIP 77

struct unit_pg {
	char dir[512];      /* the cluster this program started; "" when given one */
	char url[1024];
};

/* 0 when PostgreSQL is there, UNIT_PG_SKIP when its server is not installed (never under
 * CI=true: pg-cluster.sh fails instead), -1 when it would not start. */
static inline int unit_pg_start(struct unit_pg *pg)
{
	const char *given = getenv("PERISCOPE_TEST_PG_URL");
	char cmd[4200];
	FILE *p;
	int status;

	memset(pg, 0, sizeof *pg);
	if (given && *given) {
		snprintf(pg->url, sizeof pg->url, "%s", given);
		return 0;
	}
	snprintf(cmd, sizeof cmd, "'%s/tests/lib/pg-cluster.sh' start", unit_srcdir());
	p = popen(cmd, "r");
	if (!p)
		return -1;
	if (!fgets(pg->dir, sizeof pg->dir, p) || !fgets(pg->url, sizeof pg->url, p))
		pg->dir[0] = pg->url[0] = '\0';
	status = pclose(p);
	pg->dir[strcspn(pg->dir, "\n")] = '\0';
	pg->url[strcspn(pg->url, "\n")] = '\0';
	if (WIFEXITED(status) && WEXITSTATUS(status) == UNIT_PG_SKIP)
		return UNIT_PG_SKIP;
	if (status != 0 || !pg->url[0])
		return -1;
	/* The forked tests find it here. */
	setenv("PERISCOPE_TEST_PG_URL", pg->url, 1);
	setenv("PERISCOPE_TEST_PG_DIR", pg->dir, 1);
	return 0;
}

static inline void unit_pg_stop(struct unit_pg *pg)
{
	char cmd[1200];

	if (!pg->dir[0])
		return;
	snprintf(cmd, sizeof cmd, "'%s/tests/lib/pg-cluster.sh' stop '%s'", unit_srcdir(), pg->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "# could not stop the PostgreSQL test cluster in %s\n", pg->dir);
	unsetenv("PERISCOPE_TEST_PG_URL");
	unsetenv("PERISCOPE_TEST_PG_DIR");
}

/* Whether this program started the server itself (and so may stop and start it). */
static inline bool unit_pg_owned(void)
{
	const char *dir = getenv("PERISCOPE_TEST_PG_DIR");

	return dir && *dir;
}

/* Stops ("down"), starts ("up") or restarts the server this program started
 * (tests/lib/pg-cluster.sh), as an operator's restart or a failover would. */
static inline void unit_pg_server(const char *action)
{
	char cmd[1200];

	ck_assert_msg(unit_pg_owned(), "the PostgreSQL server was given, not started here");
	snprintf(cmd, sizeof cmd, "'%s/tests/lib/pg-cluster.sh' %s '%s'", unit_srcdir(), action,
		 getenv("PERISCOPE_TEST_PG_DIR"));
	ck_assert_msg(system(cmd) == 0, "pg-cluster.sh %s failed", action);
}

/* Runs one statement on the server's default database (CREATE/DROP DATABASE). */
static inline void unit_pg_admin(const char *sql)
{
	PGconn *c = PQconnectdb(getenv("PERISCOPE_TEST_PG_URL"));
	PGresult *r;

	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
	r = PQexec(c, sql);
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
}

/* A fresh, empty database for this test: its connection string in url. */
static inline void unit_pg_fresh_db(char *url, size_t len)
{
	char sql[64];

	snprintf(sql, sizeof sql, "CREATE DATABASE t_%ld", (long)getpid());
	unit_pg_admin(sql);
	/* In a key=value string the last dbname wins. */
	snprintf(url, len, "%s dbname=t_%ld", getenv("PERISCOPE_TEST_PG_URL"), (long)getpid());
}

static inline void unit_pg_drop_db(void)
{
	char sql[64];

	snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS t_%ld", (long)getpid());
	unit_pg_admin(sql);
}

#endif
