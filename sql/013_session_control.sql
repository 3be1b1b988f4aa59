-- periscope schema v13: live terminals seen, ended and watched through the API
-- (docs/sessions-api.md). The bridge owning a row reads it every second: a terminate request
-- set here by DELETE /api/sessions/{id} ends the terminal (reason "terminated", naming who
-- asked); its heartbeat records when the terminal was last active, for the live list.
ALTER TABLE shell_sessions ADD COLUMN last_activity_ms INTEGER;   -- wall clock, at the heartbeat
ALTER TABLE shell_sessions ADD COLUMN terminate_by_sub TEXT;      -- who asked to end it
ALTER TABLE shell_sessions ADD COLUMN terminate_by_email TEXT;
ALTER TABLE shell_sessions ADD COLUMN terminate_at_ms INTEGER;
-- Audit admins watching a terminal live (GET /api/sessions/{id}/watch): one row per watcher,
-- refreshed by each poll; the bridge tells its browser while any is recent.
CREATE TABLE shell_watchers (
    session_id    TEXT NOT NULL,
    watcher_sub   TEXT NOT NULL,
    watcher_email TEXT,
    first_at_ms   INTEGER NOT NULL,
    last_at_ms    INTEGER NOT NULL,
    PRIMARY KEY (session_id, watcher_sub)
);
