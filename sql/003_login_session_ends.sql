-- periscope schema v3: why a login session ended.
-- A running terminal re-checks its login session every few seconds; once the row is gone it
-- needs to know why, to close with the right reason (docs/frames.md: signed_out,
-- session_expired). Every path that ends a login session records it here, in the same
-- transaction as the delete. Records are kept for a day (session_store_purge), far longer
-- than any terminal takes to notice. No secret: the id hash is what login_sessions keys on.
CREATE TABLE login_session_ends (
    id_hash   TEXT PRIMARY KEY,
    subject   TEXT NOT NULL,
    reason    TEXT NOT NULL,
    ended_at  INTEGER NOT NULL     -- unix seconds
);
CREATE INDEX idx_login_session_ends_at ON login_session_ends(ended_at);
