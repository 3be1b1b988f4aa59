#include "store/db_copy.h"

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"

/* The most columns a table may have (ours have at most 21). */
#define COPY_MAX_COLUMNS 64

/* One column of a target table, as the source has it. */
struct column {
	char name[64];
	char type[64];      /* format_type(): bigint, text, bytea, ... */
	bool bytea;
};

struct table {
	char name[64];
	struct column cols[COPY_MAX_COLUMNS];
	int ncols;
};

static void pg_reason(char *err, size_t errlen, const char *what, PGconn *pg)
{
	const char *why = PQerrorMessage(pg);
	size_t n = strcspn(why, "\n");

	snprintf(err, errlen, "%s: %.*s", what, (int)n, n ? why : "unknown error");
}

/* Runs a statement on the target that returns nothing worth reading. */
static int pg_run(PGconn *pg, const char *sql, char *err, size_t errlen)
{
	PGresult *res = PQexec(pg, sql);
	ExecStatusType s = PQresultStatus(res);
	int rc = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK ? 0 : -1;

	if (rc != 0)
		pg_reason(err, errlen, sql, pg);
	PQclear(res);
	return rc;
}

static long long pg_count(PGconn *pg, const char *table, char *err, size_t errlen)
{
	char sql[160];
	PGresult *res;
	long long n = -1;

	snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%s\"", table);
	res = PQexec(pg, sql);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	else
		pg_reason(err, errlen, sql, pg);
	PQclear(res);
	return n;
}

/* Names are the catalogs' own, but they end up inside quotes: allow only plain ones. */
static bool plain_name(const char *s)
{
	if (!*s || strlen(s) >= 64)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

/* The source table's columns that the target has too, with the target's types. A source
 * column the target lacks is refused (the schemas disagree); a target column the source
 * lacks keeps its default; generated columns are the target's to compute. */
static int describe(sqlite3 *lite, PGconn *pg, struct table *t, char *err, size_t errlen)
{
	static const char cols_sql[] =
		"SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.atttypid = 'bytea'::regtype,"
		" a.attgenerated <> '' FROM pg_attribute a WHERE a.attrelid = to_regclass($1)"
		" AND a.attnum > 0 AND NOT a.attisdropped";
	const char *params[1] = { t->name };
	char sql[160];
	sqlite3_stmt *st = NULL;
	PGresult *res = PQexecParams(pg, cols_sql, 1, NULL, params, NULL, NULL, 0);
	int rc = -1;

	t->ncols = 0;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		pg_reason(err, errlen, "cannot read the PostgreSQL catalog", pg);
		goto done;
	}
	if (PQntuples(res) == 0) {
		snprintf(err, errlen, "table %s is not in the PostgreSQL database: are both at the "
			 "same schema version?", t->name);
		goto done;
	}
	snprintf(sql, sizeof sql, "SELECT name FROM pragma_table_info('%s')", t->name);
	if (sqlite3_prepare_v2(lite, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot read the SQLite schema: %s", sqlite3_errmsg(lite));
		goto done;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		int row = -1;

		for (int i = 0; i < PQntuples(res); i++)
			if (strcmp(PQgetvalue(res, i, 0), name) == 0)
				row = i;
		if (row < 0 || !plain_name(name)) {
			snprintf(err, errlen, "column %s.%s is not in the PostgreSQL database: are both "
				 "at the same schema version?", t->name, name);
			goto done;
		}
		if (*PQgetvalue(res, row, 3) == 't')
			continue;
		if (t->ncols == COPY_MAX_COLUMNS) {
			snprintf(err, errlen, "table %s has too many columns", t->name);
			goto done;
		}
		snprintf(t->cols[t->ncols].name, sizeof t->cols[0].name, "%s", name);
		snprintf(t->cols[t->ncols].type, sizeof t->cols[0].type, "%s", PQgetvalue(res, row, 1));
		t->cols[t->ncols].bytea = *PQgetvalue(res, row, 2) == 't';
		t->ncols++;
	}
	rc = 0;
done:
	sqlite3_finalize(st);
	PQclear(res);
	return rc;
}

/* "SELECT "a", "b" FROM "t"" and "INSERT INTO "t" ("a", "b") OVERRIDING SYSTEM VALUE
 * VALUES ($1::bigint, $2::text)": ids as they are, text cast to each column's type. */
static int statements(const struct table *t, char **select_sql, char **insert_sql)
{
	size_t cap = 256 + (size_t)t->ncols * 160;
	char *sel = malloc(cap), *ins = malloc(cap);
	size_t s = 0, i = 0;

	*select_sql = sel;
	*insert_sql = ins;
	if (!sel || !ins)
		return -1;
	s += (size_t)snprintf(sel + s, cap - s, "SELECT ");
	i += (size_t)snprintf(ins + i, cap - i, "INSERT INTO \"%s\" (", t->name);
	for (int c = 0; c < t->ncols; c++) {
		s += (size_t)snprintf(sel + s, cap - s, "%s\"%s\"", c ? ", " : "", t->cols[c].name);
		i += (size_t)snprintf(ins + i, cap - i, "%s\"%s\"", c ? ", " : "", t->cols[c].name);
	}
	snprintf(sel + s, cap - s, " FROM \"%s\"", t->name);
	i += (size_t)snprintf(ins + i, cap - i, ") OVERRIDING SYSTEM VALUE VALUES (");
	for (int c = 0; c < t->ncols; c++)
		i += (size_t)snprintf(ins + i, cap - i, "%s$%d::%s", c ? ", " : "", c + 1,
				      t->cols[c].type);
	snprintf(ins + i, cap - i, ")");
	return 0;
}

/* One row of the source into the target's prepared "copy_row": integers and reals as
 * their text, blobs as bytes (binary for bytea columns), NULL as NULL. */
static int copy_row(sqlite3_stmt *st, PGconn *pg, const struct table *t, char *err,
		    size_t errlen)
{
	char nums[COPY_MAX_COLUMNS][32];
	const char *values[COPY_MAX_COLUMNS];
	int lengths[COPY_MAX_COLUMNS], formats[COPY_MAX_COLUMNS];
	PGresult *res;
	int rc = -1;

	for (int c = 0; c < t->ncols; c++) {
		int type = sqlite3_column_type(st, c);

		lengths[c] = 0;
		formats[c] = 0;
		if (type == SQLITE_NULL) {
			values[c] = NULL;
		} else if (type == SQLITE_INTEGER) {
			snprintf(nums[c], sizeof nums[c], "%lld",
				 (long long)sqlite3_column_int64(st, c));
			values[c] = nums[c];
		} else if (type == SQLITE_FLOAT) {
			snprintf(nums[c], sizeof nums[c], "%.17g", sqlite3_column_double(st, c));
			values[c] = nums[c];
		} else if (t->cols[c].bytea) {
			/* The pointer first, then its size (SQLite's order). */
			values[c] = sqlite3_column_blob(st, c);
			lengths[c] = sqlite3_column_bytes(st, c);
			formats[c] = 1;
			if (!values[c])
				values[c] = "";
		} else {
			values[c] = (const char *)sqlite3_column_text(st, c);
		}
	}
	res = PQexecPrepared(pg, "copy_row", t->ncols, values, lengths, formats, 0);
	if (PQresultStatus(res) == PGRES_COMMAND_OK)
		rc = 0;
	else
		pg_reason(err, errlen, t->name, pg);
	PQclear(res);
	return rc;
}

/* Identity columns continue after the copied ids. */
static int move_sequences(PGconn *pg, const struct table *t, char *err, size_t errlen)
{
	char sql[512];
	PGresult *res;
	bool has_sequence;

	for (int c = 0; c < t->ncols; c++) {
		snprintf(sql, sizeof sql, "SELECT pg_get_serial_sequence('\"%s\"', '%s') IS NOT NULL",
			 t->name, t->cols[c].name);
		res = PQexec(pg, sql);
		if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
			pg_reason(err, errlen, sql, pg);
			PQclear(res);
			return -1;
		}
		has_sequence = *PQgetvalue(res, 0, 0) == 't';
		PQclear(res);
		if (!has_sequence)
			continue;
		/* Empty: the next id is 1 (is_called false); else the one after the largest. */
		snprintf(sql, sizeof sql,
			 "SELECT setval(pg_get_serial_sequence('\"%s\"', '%s'),"
			 " coalesce(max(\"%s\"), 1), max(\"%s\") IS NOT NULL) FROM \"%s\"",
			 t->name, t->cols[c].name, t->cols[c].name, t->cols[c].name, t->name);
		if (pg_run(pg, sql, err, errlen) != 0)
			return -1;
	}
	return 0;
}

static int copy_table(sqlite3 *lite, PGconn *pg, struct table *t, long long *rows, char *err,
		      size_t errlen)
{
	char *select_sql = NULL, *insert_sql = NULL, sql[160];
	sqlite3_stmt *st = NULL;
	PGresult *prep = NULL;
	long long copied = 0, there;
	int step, rc = -1;

	if (describe(lite, pg, t, err, errlen) != 0)
		goto done;
	if (statements(t, &select_sql, &insert_sql) != 0) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	/* The target's triggers (the audit bookkeeping, the metrics) would count the copied
	 * rows again; what they keep is copied from the source instead. */
	snprintf(sql, sizeof sql, "ALTER TABLE \"%s\" DISABLE TRIGGER USER", t->name);
	if (pg_run(pg, sql, err, errlen) != 0)
		goto done;
	snprintf(sql, sizeof sql, "DELETE FROM \"%s\"", t->name);
	if (pg_run(pg, sql, err, errlen) != 0 || pg_run(pg, "DEALLOCATE ALL", err, errlen) != 0)
		goto done;
	prep = PQprepare(pg, "copy_row", insert_sql, 0, NULL);
	if (PQresultStatus(prep) != PGRES_COMMAND_OK) {
		pg_reason(err, errlen, t->name, pg);
		goto done;
	}
	if (sqlite3_prepare_v2(lite, select_sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot read %s: %s", t->name, sqlite3_errmsg(lite));
		goto done;
	}
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (copy_row(st, pg, t, err, errlen) != 0)
			goto done;
		copied++;
	}
	if (step != SQLITE_DONE) {
		snprintf(err, errlen, "cannot read %s: %s", t->name, sqlite3_errmsg(lite));
		goto done;
	}
	snprintf(sql, sizeof sql, "ALTER TABLE \"%s\" ENABLE TRIGGER USER", t->name);
	if (move_sequences(pg, t, err, errlen) != 0 || pg_run(pg, sql, err, errlen) != 0)
		goto done;
	there = pg_count(pg, t->name, err, errlen);
	if (there != copied) {
		if (there >= 0)
			snprintf(err, errlen, "table %s: %lld rows read, %lld in PostgreSQL", t->name,
				 copied, there);
		goto done;
	}
	*rows = copied;
	rc = 0;
done:
	PQclear(prep);
	sqlite3_finalize(st);
	free(select_sql);
	free(insert_sql);
	return rc;
}

/* A database in use is not overwritten. */
static int target_unused(PGconn *pg, char *err, size_t errlen)
{
	static const char *const tables[] = { "audit_events", "login_sessions" };

	for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
		long long n = pg_count(pg, tables[i], err, errlen);

		if (n < 0)
			return -1;
		if (n > 0) {
			snprintf(err, errlen, "the PostgreSQL database already holds %s rows: copy "
				 "into a new, empty database", tables[i]);
			return -1;
		}
	}
	return 0;
}

static int open_source(const char *path, sqlite3 **out, char *err, size_t errlen)
{
	int version;

	if (sqlite3_open_v2(path, out, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", path,
			 *out ? sqlite3_errmsg(*out) : "out of memory");
		return -1;
	}
	sqlite3_busy_timeout(*out, DB_BUSY_TIMEOUT_MS);
	version = db_schema_version(*out);
	if (version != db_latest_version()) {
		snprintf(err, errlen, "%s has schema version %d, this periscope %d: %s", path, version,
			 db_latest_version(), version < db_latest_version()
				 ? "start this periscope on it once (it migrates at start), then copy"
				 : "copy with the periscope that wrote it");
		return -1;
	}
	return 0;
}

int db_copy_from_sqlite(const char *sqlite_path, struct dbx *target, db_copy_progress progress,
			void *arg, char *err, size_t errlen)
{
	PGconn *pg = (PGconn *)target->pg;
	sqlite3 *lite = NULL;
	sqlite3_stmt *names = NULL;
	struct table *t = calloc(1, sizeof *t);
	bool began = false;
	int step, rc = -1;

	if (!t) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	if (target->engine != DBX_POSTGRES) {
		snprintf(err, errlen, "the target must be a PostgreSQL database");
		goto done;
	}
	if (open_source(sqlite_path, &lite, err, errlen) != 0)
		goto done;
	/* One read transaction: the source as of one moment, even if something writes it. */
	if (sqlite3_exec(lite, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(lite, "SELECT name FROM sqlite_master WHERE type = 'table' AND"
			       " name NOT LIKE 'sqlite_%' ORDER BY name", -1, &names, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot read %s: %s", sqlite_path, sqlite3_errmsg(lite));
		goto done;
	}
	if (pg_run(pg, "BEGIN", err, errlen) != 0)
		goto done;
	began = true;
	if (target_unused(pg, err, errlen) != 0)
		goto done;
	while ((step = sqlite3_step(names)) == SQLITE_ROW) {
		long long rows = 0;

		snprintf(t->name, sizeof t->name, "%s", (const char *)sqlite3_column_text(names, 0));
		if (!plain_name(t->name)) {
			snprintf(err, errlen, "unexpected table %.80s in %s", t->name, sqlite_path);
			goto done;
		}
		if (copy_table(lite, pg, t, &rows, err, errlen) != 0)
			goto done;
		if (progress)
			progress(arg, t->name, rows);
	}
	if (step != SQLITE_DONE) {
		snprintf(err, errlen, "cannot read %s: %s", sqlite_path, sqlite3_errmsg(lite));
		goto done;
	}
	if (pg_run(pg, "COMMIT", err, errlen) != 0)
		goto done;
	began = false;
	rc = 0;
done:
	if (began) {
		char ignored[64]; /* err keeps the first failure's reason */

		pg_run(pg, "ROLLBACK", ignored, sizeof ignored);
	}
	sqlite3_finalize(names);
	sqlite3_close(lite);
	free(t);
	return rc;
}
