/* What periscope-agent keeps in its state directory between starts:
 *   id_ed25519, id_ed25519.pub  the SSH key it registered (made fresh at each registration)
 *   known_hosts                 the tunnel's host key, as registration handed it over
 *   registration.json           {cluster, tunnelPort, sshUser, tunnelPath, tokenSha256}
 * tokenSha256 is the hash of the registration token it used (never the token): a
 * different token in the token file means the operator asks for a re-registration (key
 * rotation, docs/agent.md). */
#ifndef PERISCOPE_AGENT_STATE_H
#define PERISCOPE_AGENT_STATE_H

#include <stddef.h>

struct agent_env {
	const char *server_url;     /* PERISCOPE_URL */
	const char *cluster;        /* PERISCOPE_CLUSTER */
	const char *state_dir;      /* PERISCOPE_AGENT_STATE */
	const char *token_file;     /* PERISCOPE_AGENT_TOKEN_FILE */
	const char *server_ca;      /* PERISCOPE_SERVER_CA, or NULL */
	char apiserver[300];        /* PERISCOPE_APISERVER, host:port */
	const char *api_token_file; /* PERISCOPE_APISERVER_TOKEN_FILE */
	const char *api_ca_file;    /* PERISCOPE_APISERVER_CA */
	const char *ssh;            /* PERISCOPE_SSH */
};

struct agent_registration_state {
	char cluster[64];
	int tunnel_port;
	char ssh_user[64];
	char tunnel_path[256];
	char token_sha256[65];
};

/* Reads the environment; -1 with err when a required value is missing. */
int agent_env_load(struct agent_env *e, char *err, size_t errlen);

/* 1 loaded, 0 none yet, -1 unreadable. */
int agent_state_load(const struct agent_env *e, struct agent_registration_state *out);

/* Registers when there is no registration yet or the token file holds a new token: a
 * fresh key, POST /api/agents/register, the answer kept. 0 registered or nothing to do;
 * -1 with err (refused: *refused set, the token is spent, do not retry with it). */
int agent_state_register(const struct agent_env *e, struct agent_registration_state *st,
			 int *refused, char *err, size_t errlen);

#endif
