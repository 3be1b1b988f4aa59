/* The registry of agent-backed clusters (sql/010_agents.sql, docs/agent.md), in the shared
 * database: one-time
 * registration tokens an audit admin mints, and each cluster's registered agent (its SSH
 * key, pinned to its own tunnel port; the apiserver credential and CA pin it brought). */
#ifndef PERISCOPE_AGENT_REGISTRY_H
#define PERISCOPE_AGENT_REGISTRY_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

/* Mints a token for cluster: *token_out (malloc'd; shown once, only its hash is kept).
 * 0, or -1. */
int agent_token_create(sqlite3 *db, const char *cluster, const char *created_by, long long now,
		       int ttl_s, char **token_out);

/* Spends token (when known and unspent) without registering: a registration refused
 * before it reached agent_register still uses up its one attempt. The cluster the token was
 * minted for goes to bound_cluster (size 64), "" when unknown. 0 or -1. */
int agent_token_burn(sqlite3 *db, const char *token, long long now, char *bound_cluster);

struct agent_registration {
	const char *token;
	const char *cluster;         /* the name the agent claims */
	const char *public_key;      /* normalized "type base64" (agent/ssh_pubkey.h) */
	const char *fingerprint;
	const char *api_token;
	const char *ca_sha256;       /* 64 hex digits */
};

enum agent_reg_result { AGENT_REG_OK, AGENT_REG_REFUSED, AGENT_REG_ERROR };

/* Spends the token and, when it is unspent, unexpired, bound to r->cluster and the key is
 * not another cluster's, records the agent (a re-registration replaces the key and keeps
 * the port). *port_out: the agent's tunnel port (port_base and up). On REFUSED, why says
 * why (for the log and audit, never the client) and bound_cluster (size 64) the cluster
 * the token was minted for, "" when the token is unknown. A refused token stays spent. */
enum agent_reg_result agent_register(sqlite3 *db, const struct agent_registration *r,
				     long long now, int port_base, int *port_out,
				     char *bound_cluster, char *why, size_t whylen);

struct agent_record {
	char cluster[64];
	char fingerprint[64];
	int tunnel_port;
	long long registered_at, connected_since, last_seen;   /* 0 = never / not connected */
	char tunnel_replica[72];     /* the replica whose tunnel process holds it ("" none) */
};

/* The tunnel port of the agent whose key has this fingerprint: 1 found, 0 none, -1. */
int agent_port_of(sqlite3 *db, const char *fingerprint, int *port);

/* 1 when cluster's agent holds its tunnel now, 0 when not (or none is registered), -1. */
int agent_connected(sqlite3 *db, const char *cluster);

/* The agent of cluster: 1 found, 0 none, -1 error. */
int agent_lookup(sqlite3 *db, const char *cluster, struct agent_record *out);
/* The apiserver credential and CA of cluster's agent (malloc'd; ca_pem NULL until cached).
 * 1, 0 none, -1. */
int agent_credentials(sqlite3 *db, const char *cluster, char **api_token, char **ca_sha256,
		      char **ca_pem);
int agent_cache_ca(sqlite3 *db, const char *cluster, const char *ca_pem);

/* Tunnel bookkeeping (agent/tunnel_main.c): the tunnel process pid holds the agent whose
 * key has this fingerprint from its authentication on; seen and disconnected act only while
 * pid still holds it (a newer connection may have taken over). 0 or -1. */
int agent_mark_connected(sqlite3 *db, const char *fingerprint, long long now, int pid,
			 char *cluster_out, size_t cluster_len);
int agent_mark_seen(sqlite3 *db, const char *fingerprint, long long now, int pid);
int agent_mark_disconnected(sqlite3 *db, const char *fingerprint, long long now, int pid);

/* Calls fn for each registered agent (cluster, public key line, port). 0 or -1. */
int agent_each(sqlite3 *db, int (*fn)(void *ud, const char *cluster, const char *public_key,
				      int port), void *ud);

/* The same on a dbx connection (either engine). The tunnel bookkeeping names the replica
 * (database.replicaId) of the tunnel process beside its pid. */
struct dbx;
int agent_token_create_dbx(struct dbx *db, const char *cluster, const char *created_by,
			   long long now, int ttl_s, char **token_out);
int agent_token_burn_dbx(struct dbx *db, const char *token, long long now, char *bound_cluster);
enum agent_reg_result agent_register_dbx(struct dbx *db, const struct agent_registration *r,
					 long long now, int port_base, int *port_out,
					 char *bound_cluster, char *why, size_t whylen);
int agent_port_of_dbx(struct dbx *db, const char *fingerprint, int *port);
int agent_connected_dbx(struct dbx *db, const char *cluster);
int agent_lookup_dbx(struct dbx *db, const char *cluster, struct agent_record *out);
int agent_credentials_dbx(struct dbx *db, const char *cluster, char **api_token, char **ca_sha256,
			  char **ca_pem);
int agent_cache_ca_dbx(struct dbx *db, const char *cluster, const char *ca_pem);
int agent_mark_connected_dbx(struct dbx *db, const char *fingerprint, long long now, int pid,
			     const char *replica, char *cluster_out, size_t cluster_len);
int agent_mark_seen_dbx(struct dbx *db, const char *fingerprint, long long now, int pid,
			const char *replica);
int agent_mark_disconnected_dbx(struct dbx *db, const char *fingerprint, long long now, int pid,
				const char *replica);
int agent_each_dbx(struct dbx *db, int (*fn)(void *ud, const char *cluster,
					     const char *public_key, int port), void *ud);

#endif
