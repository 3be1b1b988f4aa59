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

/* Connects again after the connection broke. PQreset keeps the PGconn (and its notice
 * processor) and makes a new connection with the same parameters. */
static int reconnect(struct dbx *db)
{
	PGconn *pg = (PGconn *)db->pg;

	PQreset(pg);
	if (PQstatus(pg) != CONNECTION_OK) {
		set_error(db, PQerrorMessage(pg));
		return -1;
	}
	db->reconnects++;
	return 0;
}

/* Before a statement: a connection lost inside a transaction stays failed until the
 * transaction is given up; one lost outside is made again. */
static int usable(struct dbx *db)
{
	if (db->tx_lost) {
		set_error(db, "the connection to PostgreSQL broke inside this transaction "
			  "(roll it back and run it again)");
		return -1;
	}
	if (PQstatus((PGconn *)db->pg) == CONNECTION_BAD)
		return reconnect(db);
	return 0;
}

/* Sends one statement: with parameters through PQexecParams (one statement), without
 * through PQexec (a migration's several). A connection found broken outside a transaction
 * is made again and the statement sent once more; inside one the transaction is lost
 * (dbx.h says why there is no retry there). NULL when nothing could be sent. */
static PGresult *send_statement(struct dbx *db, const char *sql, const struct dbx_pg_stmt *p,
				int nparams)
{
	PGconn *pg = (PGconn *)db->pg;
	PGTransactionStatusType before;
	PGresult *res = NULL;

	for (int attempt = 0; attempt < 2; attempt++) {
		PQclear(res);
		if (usable(db) != 0)
			return NULL;
		before = PQtransactionStatus(pg);
		res = p ? PQexecParams(pg, sql, nparams, p->types, p->values, p->lengths,
				       p->formats, 0)
			: PQexec(pg, sql);
		if (PQstatus(pg) != CONNECTION_BAD)
			break;
		if (before != PQTRANS_IDLE) {
			db->tx_lost = true;
			break;
		}
	}
	return res;
}

int dbx_pg_exec(struct dbx *db, const char *sql)
{
	PGresult *res = send_statement(db, sql, NULL, 0);
	ExecStatusType status = PQresultStatus(res);
	int rc = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK ? 0 : -1;

	if (rc != 0 && res)
		set_error(db, PQerrorMessage((PGconn *)db->pg));
	PQclear(res);
	return rc;
}

bool dbx_pg_in_transaction(struct dbx *db)
{
	PGTransactionStatusType t = PQtransactionStatus((PGconn *)db->pg);

	/* A broken connection (PQTRANS_UNKNOWN) holds no transaction unless one was lost with
	 * it (db->tx_lost, which the callers ask first): the next statement reconnects. */
	return t == PQTRANS_ACTIVE || t == PQTRANS_INTRANS || t == PQTRANS_INERROR;
}

void dbx_pg_rollback(struct dbx *db)
{
	/* A lost transaction was rolled back by the server when its connection went. */
	if (db->tx_lost) {
		db->tx_lost = false;
		return;
	}
	if (PQstatus((PGconn *)db->pg) == CONNECTION_OK && dbx_pg_in_transaction(db))
		dbx_pg_exec(db, "ROLLBACK");
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
		p->res = send_statement(st->db, p->sql, p, st->nparams);
		if (!p->res)
			return DBX_ERROR;
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
