-- periscope schema v3 on PostgreSQL (sql/003_login_session_ends.sql).
CREATE TABLE login_session_ends (
    id_hash   TEXT PRIMARY KEY,
    subject   TEXT NOT NULL,
    reason    TEXT NOT NULL,
    ended_at  BIGINT NOT NULL
);
CREATE INDEX idx_login_session_ends_at ON login_session_ends(ended_at);
