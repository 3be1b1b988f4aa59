#include "store/agent_registry.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/encoding.h"
#include "store/db.h"

/* 32 random bytes: the token is a bearer secret for 15 minutes. */
#define TOKEN_BYTES 32

int agent_token_create(sqlite3 *db, const char *cluster, const char *created_by, long long now,
		       int ttl_s, char **token_out)
{
	static const char sql[] = "INSERT INTO agent_tokens (token_hash, cluster, created_by,"
				  " created_at, expires_at) VALUES (?, ?, ?, ?, ?)";
	char hash[2 * SHA256_LEN + 1];
	sqlite3_stmt *st = NULL;
	char *token = random_token(TOKEN_BYTES);
	int rc = -1;

	*token_out = NULL;
	if (!token || sha256_hex(token, strlen(token), hash) != 0 ||
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, cluster, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, created_by, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now);
	sqlite3_bind_int64(st, 5, now + ttl_s);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto fail;
	*token_out = token;
	token = NULL;
	rc = 0;
fail:
	sqlite3_finalize(st);
	if (token) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	return rc;
}

/* One-row statement with text and integer binds: "t" text, "i" integer. SQLITE_DONE or
 * SQLITE_ROW is success; the statement stays open for reading when out_st is given. */
static int run(sqlite3 *db, const char *sql, sqlite3_stmt **out_st, const char *types, ...)
{
	sqlite3_stmt *st = NULL;
	va_list ap;
	int step;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	va_start(ap, types);
	for (int i = 0; types[i]; i++) {
		if (types[i] == 't')
			sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_int64(st, i + 1, va_arg(ap, long long));
	}
	va_end(ap);
	step = sqlite3_step(st);
	if (step != SQLITE_DONE && step != SQLITE_ROW) {
		sqlite3_finalize(st);
		return -1;
	}
	if (out_st) {
		*out_st = st;
		return step == SQLITE_ROW ? 1 : 0;
	}
	sqlite3_finalize(st);
	return 0;
}

int agent_token_burn(sqlite3 *db, const char *token, long long now, char *bound_cluster)
{
	char hash[2 * SHA256_LEN + 1];
	sqlite3_stmt *st = NULL;
	int found;

	bound_cluster[0] = '\0';
	if (sha256_hex(token, strlen(token), hash) != 0)
		return -1;
	found = run(db, "SELECT cluster FROM agent_tokens WHERE token_hash = ?", &st, "t", hash);
	if (found == 1)
		snprintf(bound_cluster, 64, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if (found < 0)
		return -1;
	return run(db, "UPDATE agent_tokens SET spent_at = ? WHERE token_hash = ? AND spent_at IS NULL",
		   NULL, "it", now, hash);
}

/* The lowest port from base up that no agent holds. -1 when none is left. */
static int free_port(sqlite3 *db, int base)
{
	sqlite3_stmt *st = NULL;
	int port = base, found;

	found = run(db, "SELECT tunnel_port FROM agents WHERE tunnel_port >= ? ORDER BY tunnel_port",
		    &st, "i", (long long)base);
	while (found == 1 && sqlite3_column_int(st, 0) == port) {
		port++;
		found = sqlite3_step(st) == SQLITE_ROW ? 1 : 0;
	}
	sqlite3_finalize(st);
	return found < 0 || port > 65535 ? -1 : port;
}

enum agent_reg_result agent_register(sqlite3 *db, const struct agent_registration *r,
				     long long now, int port_base, int *port_out,
				     char *bound_cluster, char *why, size_t whylen)
{
	char hash[2 * SHA256_LEN + 1];
	sqlite3_stmt *st = NULL;
	enum agent_reg_result res = AGENT_REG_ERROR;
	long long expires_at;
	bool spent;
	int found, port = -1;

	bound_cluster[0] = '\0';
	*port_out = 0;
	if (sha256_hex(r->token, strlen(r->token), hash) != 0 || db_begin_immediate(db) != 0)
		return AGENT_REG_ERROR;
	found = run(db, "SELECT cluster, expires_at, spent_at IS NOT NULL FROM agent_tokens"
		    " WHERE token_hash = ?", &st, "t", hash);
	if (found < 0)
		goto fail;
	if (found == 0) {
		snprintf(why, whylen, "unknown registration token");
		res = AGENT_REG_REFUSED;
		goto done;
	}
	snprintf(bound_cluster, 64, "%s", (const char *)sqlite3_column_text(st, 0));
	expires_at = sqlite3_column_int64(st, 1);
	spent = sqlite3_column_int(st, 2) != 0;
	sqlite3_finalize(st);
	st = NULL;
	if (spent) {
		snprintf(why, whylen, "the registration token was already used");
		res = AGENT_REG_REFUSED;
		goto done;
	}
	/* Spent by this use, whatever follows: a token is good for one attempt. */
	if (run(db, "UPDATE agent_tokens SET spent_at = ? WHERE token_hash = ?", NULL, "it", now,
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
	found = run(db, "SELECT cluster FROM agents WHERE fingerprint = ? AND cluster <> ?", &st,
		    "tt", r->fingerprint, r->cluster);
	sqlite3_finalize(st);
	st = NULL;
	if (found < 0)
		goto fail;
	if (found == 1) {
		snprintf(why, whylen, "the public key is registered for another cluster");
		res = AGENT_REG_REFUSED;
		goto done;
	}
	found = run(db, "SELECT tunnel_port FROM agents WHERE cluster = ?", &st, "t", r->cluster);
	if (found == 1)
		port = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
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
	if (run(db, "INSERT OR REPLACE INTO agents (cluster, public_key, fingerprint, tunnel_port,"
		" api_token, ca_sha256, ca_pem, registered_at) VALUES (?, ?, ?, ?, ?, ?, NULL, ?)",
		NULL, "tttitti", r->cluster, r->public_key, r->fingerprint, (long long)port,
		r->api_token, r->ca_sha256, now) != 0)
		goto fail;
	*port_out = port;
	res = AGENT_REG_OK;
done:
	if (db_commit(db) != 0)
		res = AGENT_REG_ERROR;
	return res;
fail:
	sqlite3_finalize(st);
	db_rollback(db);
	return AGENT_REG_ERROR;
}

int agent_lookup(sqlite3 *db, const char *cluster, struct agent_record *out)
{
	sqlite3_stmt *st = NULL;
	int found;

	memset(out, 0, sizeof *out);
	found = run(db, "SELECT cluster, fingerprint, tunnel_port, registered_at,"
		    " coalesce(connected_since, 0), coalesce(last_seen, 0) FROM agents"
		    " WHERE cluster = ?", &st, "t", cluster);
	if (found == 1) {
		snprintf(out->cluster, sizeof out->cluster, "%s", sqlite3_column_text(st, 0));
		snprintf(out->fingerprint, sizeof out->fingerprint, "%s", sqlite3_column_text(st, 1));
		out->tunnel_port = sqlite3_column_int(st, 2);
		out->registered_at = sqlite3_column_int64(st, 3);
		out->connected_since = sqlite3_column_int64(st, 4);
		out->last_seen = sqlite3_column_int64(st, 5);
	}
	sqlite3_finalize(st);
	return found;
}

int agent_credentials(sqlite3 *db, const char *cluster, char **api_token, char **ca_sha256,
		      char **ca_pem)
{
	sqlite3_stmt *st = NULL;
	int found;

	*api_token = *ca_sha256 = *ca_pem = NULL;
	found = run(db, "SELECT api_token, ca_sha256, ca_pem FROM agents WHERE cluster = ?", &st,
		    "t", cluster);
	if (found == 1) {
		*api_token = db_column_strdup(st, 0);
		*ca_sha256 = db_column_strdup(st, 1);
		*ca_pem = db_column_strdup(st, 2);
		if (!*api_token || !*ca_sha256) {
			free(*api_token);
			free(*ca_sha256);
			free(*ca_pem);
			*api_token = *ca_sha256 = *ca_pem = NULL;
			found = -1;
		}
	}
	sqlite3_finalize(st);
	return found;
}

int agent_cache_ca(sqlite3 *db, const char *cluster, const char *ca_pem)
{
	return run(db, "UPDATE agents SET ca_pem = ? WHERE cluster = ?", NULL, "tt", ca_pem,
		   cluster);
}

int agent_mark_connected(sqlite3 *db, const char *fingerprint, long long now, int pid,
			 char *cluster_out, size_t cluster_len)
{
	sqlite3_stmt *st = NULL;
	int found;

	cluster_out[0] = '\0';
	if (run(db, "UPDATE agents SET connected_since = ?, last_seen = ?, tunnel_pid = ?"
		" WHERE fingerprint = ?", NULL, "iiit", now, now, (long long)pid, fingerprint) != 0)
		return -1;
	found = run(db, "SELECT cluster FROM agents WHERE fingerprint = ?", &st, "t", fingerprint);
	if (found == 1)
		snprintf(cluster_out, cluster_len, "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return found < 0 ? -1 : 0;
}

int agent_mark_seen(sqlite3 *db, const char *fingerprint, long long now, int pid)
{
	return run(db, "UPDATE agents SET last_seen = ? WHERE fingerprint = ? AND tunnel_pid = ?",
		   NULL, "iti", now, fingerprint, (long long)pid);
}

int agent_mark_disconnected(sqlite3 *db, const char *fingerprint, long long now, int pid)
{
	return run(db, "UPDATE agents SET connected_since = NULL, tunnel_pid = NULL, last_seen = ?"
		   " WHERE fingerprint = ? AND tunnel_pid = ?", NULL, "iti", now, fingerprint,
		   (long long)pid);
}

int agent_each(sqlite3 *db, int (*fn)(void *ud, const char *cluster, const char *public_key,
				      int port), void *ud)
{
	sqlite3_stmt *st = NULL;
	int step = SQLITE_DONE, rc = 0;

	if (sqlite3_prepare_v2(db, "SELECT cluster, public_key, tunnel_port FROM agents"
			       " ORDER BY cluster", -1, &st, NULL) != SQLITE_OK)
		return -1;
	while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW)
		rc = fn(ud, (const char *)sqlite3_column_text(st, 0),
			(const char *)sqlite3_column_text(st, 1), sqlite3_column_int(st, 2));
	if (rc == 0 && step != SQLITE_DONE)
		rc = -1;
	sqlite3_finalize(st);
	return rc;
}

int agent_connected(sqlite3 *db, const char *cluster)
{
	struct agent_record rec;
	int found = agent_lookup(db, cluster, &rec);

	return found < 0 ? -1 : found == 1 && rec.connected_since != 0;
}

int agent_port_of(sqlite3 *db, const char *fingerprint, int *port)
{
	sqlite3_stmt *st = NULL;
	int found = run(db, "SELECT tunnel_port FROM agents WHERE fingerprint = ?", &st, "t",
			fingerprint);

	*port = found == 1 ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	return found;
}
