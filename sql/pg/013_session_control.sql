-- periscope schema v13 on PostgreSQL (sql/013_session_control.sql).
ALTER TABLE shell_sessions ADD COLUMN last_activity_ms BIGINT;
ALTER TABLE shell_sessions ADD COLUMN terminate_by_sub TEXT;
ALTER TABLE shell_sessions ADD COLUMN terminate_by_email TEXT;
ALTER TABLE shell_sessions ADD COLUMN terminate_at_ms BIGINT;
CREATE TABLE shell_watchers (
    session_id    TEXT NOT NULL,
    watcher_sub   TEXT NOT NULL,
    watcher_email TEXT,
    first_at_ms   BIGINT NOT NULL,
    last_at_ms    BIGINT NOT NULL,
    PRIMARY KEY (session_id, watcher_sub)
);
