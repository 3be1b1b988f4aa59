-- periscope schema v5 on PostgreSQL (sql/005_shell_heartbeat.sql).
ALTER TABLE shell_sessions ADD COLUMN actor_email TEXT;
ALTER TABLE shell_sessions ADD COLUMN actor_groups TEXT;
ALTER TABLE shell_sessions ADD COLUMN boot_id TEXT;
ALTER TABLE shell_sessions ADD COLUMN heartbeat_at_ms BIGINT;
ALTER TABLE shell_sessions ADD COLUMN bytes_in BIGINT NOT NULL DEFAULT 0;
ALTER TABLE shell_sessions ADD COLUMN bytes_out BIGINT NOT NULL DEFAULT 0;
