-- periscope schema v10 on PostgreSQL (sql/010_agents.sql).
CREATE TABLE agent_tokens (
    token_hash  TEXT PRIMARY KEY,
    cluster     TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    spent_at    BIGINT
);
CREATE TABLE agents (
    cluster          TEXT PRIMARY KEY,
    public_key       TEXT NOT NULL,
    fingerprint      TEXT NOT NULL UNIQUE,
    tunnel_port      BIGINT NOT NULL UNIQUE,
    api_token        TEXT NOT NULL,
    ca_sha256        TEXT NOT NULL,
    ca_pem           TEXT,
    registered_at    BIGINT NOT NULL,
    connected_since  BIGINT,
    last_seen        BIGINT
);
