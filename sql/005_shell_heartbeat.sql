-- periscope schema v5: every terminal gets a close row, even when its process is killed.
-- The bridge records a heartbeat in its live-session row every few seconds (when, and the
-- bytes so far); the maintenance sweep of periscope.fcgi writes the close row (reason
-- "lost") for a row whose process is gone, with what the row knows. The row is the claim:
-- whoever deletes it (the bridge at its normal close, or the sweep) writes the one close
-- row, in the same transaction. What the lost close row names comes from here too.
ALTER TABLE shell_sessions ADD COLUMN actor_email TEXT;
ALTER TABLE shell_sessions ADD COLUMN actor_groups TEXT;           -- JSON array
ALTER TABLE shell_sessions ADD COLUMN boot_id TEXT;                -- the host's boot id at admission
ALTER TABLE shell_sessions ADD COLUMN heartbeat_at_ms INTEGER;     -- wall clock, last sign of life
ALTER TABLE shell_sessions ADD COLUMN bytes_in INTEGER NOT NULL DEFAULT 0;
ALTER TABLE shell_sessions ADD COLUMN bytes_out INTEGER NOT NULL DEFAULT 0;
