/* The PostgreSQL side of dbx.h, on libpq: each statement is sent with PQexecParams (its
 * placeholders translated once at prepare), results read in text form. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/dbx_internal.h"
#include "store/dbx_sql.h"
#include "store/pg_conn.h"

static void set_error(struct dbx *db, const char *why)
{
	size_t n = why ? strcspn(why, "\n") : 0;

	snprintf(db->err, sizeof db->err, "%.*s", (int)n, n ? why : "unknown error");
}

int dbx_pg_open(const char *conninfo, const char *password, struct dbx *db, char *err,
		size_t errlen)
{
	PGconn *pg = NULL;

	if (pg_connect(conninfo, password, &pg, err, errlen) != 0)
		return -1;
	db->pg = (struct pg_conn *)pg;
	return 0;
}

int dbx_pg_exec(struct dbx *db, const char *sql)
{
	PGresult *res = PQexec((PGconn *)db->pg, sql);
	ExecStatusType status = PQresultStatus(res);
	int rc = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK ? 0 : -1;

	if (rc != 0)
		set_error(db, PQerrorMessage((PGconn *)db->pg));
	PQclear(res);
	return rc;
}

bool dbx_pg_in_transaction(struct dbx *db)
{
	return PQtransactionStatus((PGconn *)db->pg) != PQTRANS_IDLE;
}

int dbx_pg_prepare(struct dbx_stmt *st, const char *sql)
{
	st->pg.row = -1;
	if (dbx_translate_placeholders(sql, DBX_MAX_PARAMS, &st->pg.sql, &st->nparams) != 0) {
		set_error(st->db, "bad placeholders in the SQL (or too many)");
		return -1;
	}
	return 0;
}

int dbx_pg_bind(struct dbx_stmt *st, int idx, const char *value, int len, int format, Oid type)
{
	if (idx < 1 || idx > st->nparams) {
		set_error(st->db, "bind index out of range");
		return -1;
	}
	st->pg.values[idx - 1] = value;
	st->pg.lengths[idx - 1] = len;
	st->pg.formats[idx - 1] = format;
	st->pg.types[idx - 1] = type;
	return 0;
}

static void drop_blob(struct dbx_pg_stmt *p)
{
	PQfreemem(p->blob);
	p->blob = NULL;
}

enum dbx_step dbx_pg_step(struct dbx_stmt *st)
{
	struct dbx_pg_stmt *p = &st->pg;
	ExecStatusType status;

	drop_blob(p);
	if (!p->res) {
		p->res = PQexecParams((PGconn *)st->db->pg, p->sql, st->nparams, p->types,
				      p->values, p->lengths, p->formats, 0);
		status = PQresultStatus(p->res);
		if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
			set_error(st->db, PQerrorMessage((PGconn *)st->db->pg));
			return DBX_ERROR;
		}
	} else if (PQresultStatus(p->res) != PGRES_TUPLES_OK &&
		   PQresultStatus(p->res) != PGRES_COMMAND_OK) {
		return DBX_ERROR;
	}
	if (p->row + 1 < PQntuples(p->res)) {
		p->row++;
		return DBX_ROW;
	}
	p->row = PQntuples(p->res);
	return DBX_DONE;
}

long long dbx_pg_changes(struct dbx_stmt *st)
{
	const char *n = st->pg.res ? PQcmdTuples(st->pg.res) : "";

	return *n ? strtoll(n, NULL, 10) : 0;
}

const void *dbx_pg_column_blob(struct dbx_stmt *st, int col, size_t *len)
{
	struct dbx_pg_stmt *p = &st->pg;

	*len = 0;
	drop_blob(p);
	if (PQgetisnull(p->res, p->row, col))
		return NULL;
	p->blob = PQunescapeBytea((const unsigned char *)PQgetvalue(p->res, p->row, col), len);
	return p->blob;
}

void dbx_pg_finalize(struct dbx_stmt *st)
{
	drop_blob(&st->pg);
	PQclear(st->pg.res);
	free(st->pg.sql);
}
