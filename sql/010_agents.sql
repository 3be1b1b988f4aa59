-- periscope schema v10: agent-backed clusters (docs/agent.md).
--
-- agent_tokens: one-time registration tokens an audit admin minted, each bound to one
-- cluster name. Only the SHA-256 of the token is kept; spent_at is set by its first use,
-- successful or not (a wrong cluster name burns it), so no token is ever accepted twice.
CREATE TABLE agent_tokens (
    token_hash  TEXT PRIMARY KEY,           -- lower-case hex SHA-256 of the token
    cluster     TEXT NOT NULL,
    created_by  TEXT NOT NULL,              -- the admin's subject
    created_at  INTEGER NOT NULL,           -- Unix seconds
    expires_at  INTEGER NOT NULL,
    spent_at    INTEGER                     -- NULL until used or burned
) WITHOUT ROWID;

-- agents: the registered agent of each cluster (one; re-registration replaces the key).
-- public_key is the OpenSSH public key line the tunnel's sshd accepts for this cluster
-- only, pinned to tunnel_port (permitlisten). api_token is the bearer token of the
-- agent's ServiceAccount periscope calls the cluster's apiserver with, through the tunnel
-- (end-to-end TLS: the agent never sees it in clear on the wire); ca_sha256 pins the
-- cluster CA that kube-public/cluster-info must carry; ca_pem caches it once checked.
-- connected_since is NULL while no tunnel is up.
CREATE TABLE agents (
    cluster          TEXT PRIMARY KEY,
    public_key       TEXT NOT NULL,
    fingerprint      TEXT NOT NULL UNIQUE,  -- SHA256:<base64>, as ssh-keygen -l prints it
    tunnel_port      INTEGER NOT NULL UNIQUE,
    api_token        TEXT NOT NULL,
    ca_sha256        TEXT NOT NULL,         -- hex SHA-256 of the CA certificate (DER)
    ca_pem           TEXT,
    registered_at    INTEGER NOT NULL,
    connected_since  INTEGER,
    last_seen        INTEGER
) WITHOUT ROWID;
