-- periscope schema v1: login sessions, OIDC login attempts, audit events, live shell sessions.
-- Applied in one transaction; PRAGMA user_version records the version.

-- Server-side login sessions. The browser holds a 256-bit random cookie; only its SHA-256
-- is stored here, and the OIDC tokens are sealed (AES-256-GCM) with a key derived from the
-- cookie, so a copy of this file yields neither a usable cookie nor a usable token.
CREATE TABLE login_sessions (
    id_hash               TEXT PRIMARY KEY,
    subject               TEXT NOT NULL,
    email                 TEXT,
    groups_json           TEXT NOT NULL DEFAULT '[]',
    tokens_sealed         BLOB NOT NULL,
    access_expires_at     INTEGER NOT NULL DEFAULT 0,   -- unix seconds; 0 = unknown
    id_token_expires_at   INTEGER NOT NULL DEFAULT 0,
    created_at            INTEGER NOT NULL,
    last_seen_at          INTEGER NOT NULL,
    absolute_expires_at   INTEGER NOT NULL,
    refresh_claimed_until INTEGER NOT NULL DEFAULT 0    -- serializes refresh across processes
);
CREATE INDEX idx_login_sessions_subject ON login_sessions(subject);
CREATE INDEX idx_login_sessions_absolute ON login_sessions(absolute_expires_at);

-- OIDC authorization requests in flight (state, nonce, PKCE verifier); one-shot.
CREATE TABLE oidc_logins (
    state          TEXT PRIMARY KEY,
    nonce          TEXT NOT NULL,
    code_verifier  TEXT NOT NULL,
    return_to      TEXT NOT NULL DEFAULT '/',
    created_at     INTEGER NOT NULL
);

CREATE TABLE audit_events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    ts_unix_nano  INTEGER NOT NULL,
    request_id    TEXT,
    route         TEXT,
    actor_sub     TEXT NOT NULL,
    actor_email   TEXT,
    actor_groups  TEXT,            -- JSON array
    verb          TEXT NOT NULL,
    outcome       TEXT NOT NULL,   -- success | failure | denied
    cluster       TEXT,
    res_group     TEXT,
    res_version   TEXT,
    res_type      TEXT,
    res_namespace TEXT,
    res_name      TEXT,
    reason        TEXT,
    session_id    TEXT,            -- extra.session_id, kept as a column to filter on
    extra         TEXT             -- JSON object
);
CREATE INDEX idx_audit_ts ON audit_events(ts_unix_nano, id);
CREATE INDEX idx_audit_actor_ts ON audit_events(actor_sub, ts_unix_nano);
CREATE INDEX idx_audit_verb_ts ON audit_events(verb, ts_unix_nano);
CREATE INDEX idx_audit_outcome_ts ON audit_events(outcome, ts_unix_nano);
CREATE INDEX idx_audit_cluster_ts ON audit_events(cluster, ts_unix_nano);
CREATE INDEX idx_audit_session ON audit_events(session_id);

-- Live terminal sessions, for the caps. A row belongs to one wsbridge process; a row whose
-- process is gone (pid not alive, or alive with another start time) is reaped on admission.
CREATE TABLE shell_sessions (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('cluster_shell', 'node_shell')),
    actor_sub       TEXT NOT NULL,
    cluster         TEXT NOT NULL,
    target          TEXT,            -- node name for node shells
    tier            TEXT,
    mode            TEXT,
    pid             INTEGER NOT NULL,
    pid_start_ticks INTEGER NOT NULL,
    started_at_ms   INTEGER NOT NULL,
    detail          TEXT             -- JSON: pod/secret names, instance id, ...
);
CREATE INDEX idx_shell_sessions_actor ON shell_sessions(kind, actor_sub);
CREATE INDEX idx_shell_sessions_cluster ON shell_sessions(kind, cluster);
