-- periscope schema v7 on PostgreSQL (sql/007_audit_refusals.sql).
CREATE TABLE audit_refusal_windows (
    actor_sub     TEXT NOT NULL,
    verb          TEXT NOT NULL,
    code          TEXT NOT NULL,
    outcome       TEXT NOT NULL,
    window_start  BIGINT NOT NULL,
    first_id      BIGINT NOT NULL,
    cluster       TEXT,
    count         BIGINT NOT NULL,
    PRIMARY KEY (actor_sub, verb, code, window_start)
);
CREATE INDEX idx_audit_refusal_windows_start ON audit_refusal_windows(window_start);
