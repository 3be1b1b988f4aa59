#include "store/agent_registry.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/encoding.h"
#include "store/db.h"
#include "store/dbx.h"

/* Ported onto dbx.h (docs/HACKING.md "Storage engines"): each function takes a struct dbx;
 * the sqlite3 * API of agent_registry.h wraps the same code around a borrowed handle. */

/* 32 random bytes: the token is a bearer secret for 15 minutes. */
#define TOKEN_BYTES 32

int agent_token_create_dbx(struct dbx *db, const char *cluster, const char *created_by,
			   long long now, int ttl_s, char **token_out)
{
	static const char sql[] = "INSERT INTO agent_tokens (token_hash, cluster, created_by,"
				  " created_at, expires_at) VALUES (?, ?, ?, ?, ?)";
	char hash[2 * SHA256_LEN + 1];
	struct dbx_stmt *st = NULL;
	char *token = random_token(TOKEN_BYTES);
	int rc = -1;

	*token_out = NULL;
	if (!token || sha256_hex(token, strlen(token), hash) != 0 || dbx_prepare(db, sql, &st) != 0)
		goto fail;
	dbx_bind_text(st, 1, hash);
	dbx_bind_text(st, 2, cluster);
	dbx_bind_text(st, 3, created_by);
	dbx_bind_int64(st, 4, now);
	dbx_bind_int64(st, 5, now + ttl_s);
	if (dbx_step(st) != DBX_DONE)
		goto fail;
	*token_out = token;
	token = NULL;
	rc = 0;
fail:
	dbx_finalize(st);
	if (token) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	return rc;
}

/* A query with text and integer binds ("t" text, "i" integer), stepped to its first row: 1
 * a row (read it from *out_st, then dbx_finalize it), 0 none, -1 error. Statements without
 * rows go through dbx_run. */
static int query(struct dbx *db, const char *sql, struct dbx_stmt **out_st, const char *types,
		 ...)
{
	struct dbx_stmt *st = NULL;
	enum dbx_step step;
	va_list ap;
	int rc = 0;

	*out_st = NULL;
	if (dbx_prepare(db, sql, &st) != 0)
		return -1;
	va_start(ap, types);
	for (int i = 0; types[i] && rc == 0; i++)
		rc = types[i] == 't' ? dbx_bind_text(st, i + 1, va_arg(ap, const char *))
				     : dbx_bind_int64(st, i + 1, va_arg(ap, long long));
	va_end(ap);
	step = rc == 0 ? dbx_step(st) : DBX_ERROR;
	if (step != DBX_DONE && step != DBX_ROW) {
		dbx_finalize(st);
		return -1;
	}
	*out_st = st;
	return step == DBX_ROW ? 1 : 0;
}

int agent_token_burn_dbx(struct dbx *db, const char *token, long long now, char *bound_cluster)
{
	char hash[2 * SHA256_LEN + 1];
	struct dbx_stmt *st = NULL;
	int found;

	bound_cluster[0] = '\0';
	if (sha256_hex(token, strlen(token), hash) != 0)
		return -1;
	found = query(db, "SELECT cluster FROM agent_tokens WHERE token_hash = ?", &st, "t", hash);
	if (found == 1)
		snprintf(bound_cluster, 64, "%s", dbx_column_text(st, 0));
	dbx_finalize(st);
	if (found < 0)
		return -1;
	return dbx_run(db, "UPDATE agent_tokens SET spent_at = ? WHERE token_hash = ? AND spent_at IS NULL",
		       NULL, "it", now, hash);
}

/* The lowest port from base up that no agent holds. -1 when none is left. */
static int free_port(struct dbx *db, int base)
{
	struct dbx_stmt *st = NULL;
	int port = base, found;

	found = query(db, "SELECT tunnel_port FROM agents WHERE tunnel_port >= ? ORDER BY tunnel_port",
		      &st, "i", (long long)base);
	while (found == 1 && dbx_column_int64(st, 0) == port) {
		port++;
		found = dbx_step(st) == DBX_ROW ? 1 : 0;
	}
	dbx_finalize(st);
	return found < 0 || port > 65535 ? -1 : port;
}

/* A registration reads the token, then the agents, then writes: on PostgreSQL (read
 * committed) two replicas registering at once would both see a token unspent, or both
 * pick the same free port. Registrations are rare: one at a time, whole-database (class 3
 * of the advisory locks; the session caps use 1 and 2). SQLite's BEGIN IMMEDIATE already
 * is. */
static int lock_registrations(struct dbx *db)
{
	if (db->engine != DBX_POSTGRES)
		return 0;
	return dbx_exec(db, "SELECT pg_advisory_xact_lock(3, 0)");
}

/* "INSERT OR REPLACE" replaces the whole row (connection state cleared); PostgreSQL's
 * upsert says so column by column. */
#define AGENT_UPSERT_SQLITE                                                                  \
	"INSERT OR REPLACE INTO agents (cluster, public_key, fingerprint, tunnel_port,"       \
	" api_token, ca_sha256, ca_pem, registered_at) VALUES (?, ?, ?, ?, ?, ?, NULL, ?)"
#define AGENT_UPSERT_PG                                                                      \
	"INSERT INTO agents (cluster, public_key, fingerprint, tunnel_port, api_token,"       \
	" ca_sha256, ca_pem, registered_at) VALUES (?, ?, ?, ?, ?, ?, NULL, ?)"               \
	" ON CONFLICT (cluster) DO UPDATE SET public_key = excluded.public_key,"              \
	" fingerprint = excluded.fingerprint, tunnel_port = excluded.tunnel_port,"            \
	" api_token = excluded.api_token, ca_sha256 = excluded.ca_sha256, ca_pem = NULL,"     \
	" registered_at = excluded.registered_at, connected_since = NULL, last_seen = NULL,"  \
	" tunnel_pid = NULL, tunnel_replica = NULL"

enum agent_reg_result agent_register_dbx(struct dbx *db, const struct agent_registration *r,
					 long long now, int port_base, int *port_out,
					 char *bound_cluster, char *why, size_t whylen)
{
	char hash[2 * SHA256_LEN + 1];
	struct dbx_stmt *st = NULL;
	enum agent_reg_result res = AGENT_REG_ERROR;
	long long expires_at;
	bool spent;
	int found, port = -1;

	bound_cluster[0] = '\0';
	*port_out = 0;
	if (sha256_hex(r->token, strlen(r->token), hash) != 0 || dbx_begin_write(db) != 0)
		return AGENT_REG_ERROR;
	if (lock_registrations(db) != 0)
		goto fail;
	found = query(db, "SELECT cluster, expires_at, CASE WHEN spent_at IS NULL THEN 0 ELSE 1 END"
		      " FROM agent_tokens WHERE token_hash = ?", &st, "t", hash);
	if (found < 0)
		goto fail;
	if (found == 0) {
		snprintf(why, whylen, "unknown registration token");
		res = AGENT_REG_REFUSED;
		goto done;
	}
	snprintf(bound_cluster, 64, "%s", dbx_column_text(st, 0));
	expires_at = dbx_column_int64(st, 1);
	spent = dbx_column_int64(st, 2) != 0;
	dbx_finalize(st);
	st = NULL;
	if (spent) {
		snprintf(why, whylen, "the registration token was already used");
		res = AGENT_REG_REFUSED;
		goto done;
	}
	/* Spent by this use, whatever follows: a token is good for one attempt. */
	if (dbx_run(db, "UPDATE agent_tokens SET spent_at = ? WHERE token_hash = ?", NULL, "it", now,
		hash) != 0)
		goto fail;
	if (now >= expires_at) {
		snprintf(why, whylen, "the registration token expired");
		res = AGENT_REG_REFUSED;
		goto done;
	}
	if (strcmp(bound_cluster, r->cluster) != 0) {
		snprintf(why, whylen, "the registration token is for another cluster (the token is"
			 " burnt)");
		res = AGENT_REG_REFUSED;
		goto done;
	}
	found = query(db, "SELECT cluster FROM agents WHERE fingerprint = ? AND cluster <> ?", &st,
		      "tt", r->fingerprint, r->cluster);
	dbx_finalize(st);
	st = NULL;
	if (found < 0)
		goto fail;
	if (found == 1) {
		snprintf(why, whylen, "the public key is registered for another cluster");
		res = AGENT_REG_REFUSED;
		goto done;
	}
	found = query(db, "SELECT tunnel_port FROM agents WHERE cluster = ?", &st, "t", r->cluster);
	if (found == 1)
		port = (int)dbx_column_int64(st, 0);
	dbx_finalize(st);
	st = NULL;
	if (found < 0)
		goto fail;
	if (port < 0 && (port = free_port(db, port_base)) < 0) {
		snprintf(why, whylen, "no tunnel port is left from %d up", port_base);
		res = AGENT_REG_REFUSED;
		goto done;
	}
	/* A re-registration (key rotation) replaces the key: the old key's next connection is
	 * refused, a tunnel it holds lasts until it drops. */
	if (dbx_run(db, dbx_sql(db, AGENT_UPSERT_SQLITE, AGENT_UPSERT_PG), NULL, "tttitti", r->cluster,
		r->public_key, r->fingerprint, (long long)port, r->api_token, r->ca_sha256, now) != 0)
		goto fail;
	*port_out = port;
	res = AGENT_REG_OK;
done:
	/* A refusal may leave the token lookup's statement open (no row found). */
	dbx_finalize(st);
	if (dbx_commit(db) != 0)
		res = AGENT_REG_ERROR;
	return res;
fail:
	dbx_finalize(st);
	dbx_rollback(db);
	return AGENT_REG_ERROR;
}

int agent_lookup_dbx(struct dbx *db, const char *cluster, struct agent_record *out)
{
	struct dbx_stmt *st = NULL;
	int found;

	memset(out, 0, sizeof *out);
	found = query(db, "SELECT cluster, fingerprint, tunnel_port, registered_at,"
		      " coalesce(connected_since, 0), coalesce(last_seen, 0), tunnel_replica FROM agents"
		      " WHERE cluster = ?", &st, "t", cluster);
	if (found == 1) {
		const char *replica = dbx_column_text(st, 6);

		snprintf(out->cluster, sizeof out->cluster, "%s", dbx_column_text(st, 0));
		snprintf(out->fingerprint, sizeof out->fingerprint, "%s", dbx_column_text(st, 1));
		out->tunnel_port = (int)dbx_column_int64(st, 2);
		out->registered_at = dbx_column_int64(st, 3);
		out->connected_since = dbx_column_int64(st, 4);
		out->last_seen = dbx_column_int64(st, 5);
		snprintf(out->tunnel_replica, sizeof out->tunnel_replica, "%s", replica ? replica : "");
	}
	dbx_finalize(st);
	return found;
}

int agent_credentials_dbx(struct dbx *db, const char *cluster, char **api_token, char **ca_sha256,
			  char **ca_pem)
{
	struct dbx_stmt *st = NULL;
	int found;

	*api_token = *ca_sha256 = *ca_pem = NULL;
	found = query(db, "SELECT api_token, ca_sha256, ca_pem FROM agents WHERE cluster = ?", &st,
		      "t", cluster);
	if (found == 1) {
		*api_token = dbx_column_strdup(st, 0);
		*ca_sha256 = dbx_column_strdup(st, 1);
		*ca_pem = dbx_column_strdup(st, 2);
		if (!*api_token || !*ca_sha256) {
			free(*api_token);
			free(*ca_sha256);
			free(*ca_pem);
			*api_token = *ca_sha256 = *ca_pem = NULL;
			found = -1;
		}
	}
	dbx_finalize(st);
	return found;
}

int agent_cache_ca_dbx(struct dbx *db, const char *cluster, const char *ca_pem)
{
	return dbx_run(db, "UPDATE agents SET ca_pem = ? WHERE cluster = ?", NULL, "tt", ca_pem,
		       cluster);
}

/* The tunnel process that holds an agent is its pid on its replica: a pid alone would let a
 * process of another replica with the same number clear a live connection. */
int agent_mark_connected_dbx(struct dbx *db, const char *fingerprint, long long now, int pid,
			     const char *replica, char *cluster_out, size_t cluster_len)
{
	struct dbx_stmt *st = NULL;
	int found;

	cluster_out[0] = '\0';
	if (dbx_run(db, "UPDATE agents SET connected_since = ?, last_seen = ?, tunnel_pid = ?,"
		" tunnel_replica = ? WHERE fingerprint = ?", NULL, "iiitt", now, now, (long long)pid,
		replica ? replica : "", fingerprint) != 0)
		return -1;
	found = query(db, "SELECT cluster FROM agents WHERE fingerprint = ?", &st, "t", fingerprint);
	if (found == 1)
		snprintf(cluster_out, cluster_len, "%s", dbx_column_text(st, 0));
	dbx_finalize(st);
	return found < 0 ? -1 : 0;
}

int agent_mark_seen_dbx(struct dbx *db, const char *fingerprint, long long now, int pid,
			const char *replica)
{
	return dbx_run(db, "UPDATE agents SET last_seen = ? WHERE fingerprint = ? AND tunnel_pid = ?"
		       " AND coalesce(tunnel_replica, '') = ?", NULL, "itit", now, fingerprint,
		       (long long)pid, replica ? replica : "");
}

int agent_mark_disconnected_dbx(struct dbx *db, const char *fingerprint, long long now, int pid,
				const char *replica)
{
	return dbx_run(db, "UPDATE agents SET connected_since = NULL, tunnel_pid = NULL,"
		       " tunnel_replica = NULL, last_seen = ? WHERE fingerprint = ? AND tunnel_pid = ?"
		       " AND coalesce(tunnel_replica, '') = ?", NULL, "itit", now, fingerprint,
		       (long long)pid, replica ? replica : "");
}

int agent_each_dbx(struct dbx *db, int (*fn)(void *ud, const char *cluster,
					     const char *public_key, int port), void *ud)
{
	struct dbx_stmt *st = NULL;
	enum dbx_step step = DBX_DONE;
	int rc = 0;

	if (dbx_prepare(db, "SELECT cluster, public_key, tunnel_port FROM agents ORDER BY cluster",
			&st) != 0)
		return -1;
	while (rc == 0 && (step = dbx_step(st)) == DBX_ROW)
		rc = fn(ud, dbx_column_text(st, 0), dbx_column_text(st, 1),
			(int)dbx_column_int64(st, 2));
	if (rc == 0 && step != DBX_DONE)
		rc = -1;
	dbx_finalize(st);
	return rc;
}

int agent_connected_dbx(struct dbx *db, const char *cluster)
{
	struct agent_record rec;
	int found = agent_lookup_dbx(db, cluster, &rec);

	return found < 0 ? -1 : found == 1 && rec.connected_since != 0;
}

int agent_port_of_dbx(struct dbx *db, const char *fingerprint, int *port)
{
	struct dbx_stmt *st = NULL;
	int found = query(db, "SELECT tunnel_port FROM agents WHERE fingerprint = ?", &st, "t",
			fingerprint);

	*port = found == 1 ? (int)dbx_column_int64(st, 0) : 0;
	dbx_finalize(st);
	return found;
}

/* The sqlite3 * API: the same code on a borrowed handle (no replica: "" recorded). */
#define BORROW(db)                                                                           \
	struct dbx d;                                                                        \
	dbx_borrow_sqlite(&d, (db))

int agent_token_create(sqlite3 *db, const char *cluster, const char *created_by, long long now,
		       int ttl_s, char **token_out)
{
	BORROW(db);
	return agent_token_create_dbx(&d, cluster, created_by, now, ttl_s, token_out);
}

int agent_token_burn(sqlite3 *db, const char *token, long long now, char *bound_cluster)
{
	BORROW(db);
	return agent_token_burn_dbx(&d, token, now, bound_cluster);
}

enum agent_reg_result agent_register(sqlite3 *db, const struct agent_registration *r,
				     long long now, int port_base, int *port_out,
				     char *bound_cluster, char *why, size_t whylen)
{
	BORROW(db);
	return agent_register_dbx(&d, r, now, port_base, port_out, bound_cluster, why, whylen);
}

int agent_lookup(sqlite3 *db, const char *cluster, struct agent_record *out)
{
	BORROW(db);
	return agent_lookup_dbx(&d, cluster, out);
}

int agent_credentials(sqlite3 *db, const char *cluster, char **api_token, char **ca_sha256,
		      char **ca_pem)
{
	BORROW(db);
	return agent_credentials_dbx(&d, cluster, api_token, ca_sha256, ca_pem);
}

int agent_cache_ca(sqlite3 *db, const char *cluster, const char *ca_pem)
{
	BORROW(db);
	return agent_cache_ca_dbx(&d, cluster, ca_pem);
}

int agent_mark_connected(sqlite3 *db, const char *fingerprint, long long now, int pid,
			 char *cluster_out, size_t cluster_len)
{
	BORROW(db);
	return agent_mark_connected_dbx(&d, fingerprint, now, pid, NULL, cluster_out, cluster_len);
}

int agent_mark_seen(sqlite3 *db, const char *fingerprint, long long now, int pid)
{
	BORROW(db);
	return agent_mark_seen_dbx(&d, fingerprint, now, pid, NULL);
}

int agent_mark_disconnected(sqlite3 *db, const char *fingerprint, long long now, int pid)
{
	BORROW(db);
	return agent_mark_disconnected_dbx(&d, fingerprint, now, pid, NULL);
}

int agent_each(sqlite3 *db, int (*fn)(void *ud, const char *cluster, const char *public_key,
				      int port), void *ud)
{
	BORROW(db);
	return agent_each_dbx(&d, fn, ud);
}

int agent_connected(sqlite3 *db, const char *cluster)
{
	BORROW(db);
	return agent_connected_dbx(&d, cluster);
}

int agent_port_of(sqlite3 *db, const char *fingerprint, int *port)
{
	BORROW(db);
	return agent_port_of_dbx(&d, fingerprint, port);
}
