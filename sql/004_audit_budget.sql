-- periscope schema v4: login attempts per client; the audit rows' own size.
--
-- An unauthenticated GET /api/auth/login stores one oidc_logins row. The row now names the
-- client (the REMOTE_ADDR the web server gives), so that login_attempt_put can keep at
-- most a few attempts per client and a bounded number in total, evicting the oldest.
ALTER TABLE oidc_logins ADD COLUMN client TEXT NOT NULL DEFAULT '';
CREATE INDEX idx_oidc_logins_client ON oidc_logins(client, created_at);
CREATE INDEX idx_oidc_logins_created ON oidc_logins(created_at);

-- The audit budget (audit.maxSizeMB) is measured on the audit rows themselves, never on
-- the database file, which also holds login sessions and login attempts. One row holds
-- the running sum of the bytes of every audit_events row (each text column's UTF-8 bytes,
-- 8 bytes per integer column), kept by triggers so that every writer counts, whatever
-- program it is.
CREATE TABLE audit_usage (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    bytes  INTEGER NOT NULL,
    rows   INTEGER NOT NULL
);
INSERT INTO audit_usage (id, bytes, rows)
SELECT 1,
       coalesce(sum(16 + coalesce(length(CAST(request_id AS BLOB)), 0)
                       + coalesce(length(CAST(route AS BLOB)), 0)
                       + coalesce(length(CAST(actor_sub AS BLOB)), 0)
                       + coalesce(length(CAST(actor_email AS BLOB)), 0)
                       + coalesce(length(CAST(actor_groups AS BLOB)), 0)
                       + coalesce(length(CAST(verb AS BLOB)), 0)
                       + coalesce(length(CAST(outcome AS BLOB)), 0)
                       + coalesce(length(CAST(cluster AS BLOB)), 0)
                       + coalesce(length(CAST(res_group AS BLOB)), 0)
                       + coalesce(length(CAST(res_version AS BLOB)), 0)
                       + coalesce(length(CAST(res_type AS BLOB)), 0)
                       + coalesce(length(CAST(res_namespace AS BLOB)), 0)
                       + coalesce(length(CAST(res_name AS BLOB)), 0)
                       + coalesce(length(CAST(reason AS BLOB)), 0)
                       + coalesce(length(CAST(session_id AS BLOB)), 0)
                       + coalesce(length(CAST(extra AS BLOB)), 0)), 0),
       count(*)
  FROM audit_events;

-- One row's bytes, as a view, so the triggers and retention use the same measure.
CREATE VIEW audit_row_bytes AS
SELECT id, ts_unix_nano,
       16 + coalesce(length(CAST(request_id AS BLOB)), 0)
          + coalesce(length(CAST(route AS BLOB)), 0)
          + coalesce(length(CAST(actor_sub AS BLOB)), 0)
          + coalesce(length(CAST(actor_email AS BLOB)), 0)
          + coalesce(length(CAST(actor_groups AS BLOB)), 0)
          + coalesce(length(CAST(verb AS BLOB)), 0)
          + coalesce(length(CAST(outcome AS BLOB)), 0)
          + coalesce(length(CAST(cluster AS BLOB)), 0)
          + coalesce(length(CAST(res_group AS BLOB)), 0)
          + coalesce(length(CAST(res_version AS BLOB)), 0)
          + coalesce(length(CAST(res_type AS BLOB)), 0)
          + coalesce(length(CAST(res_namespace AS BLOB)), 0)
          + coalesce(length(CAST(res_name AS BLOB)), 0)
          + coalesce(length(CAST(reason AS BLOB)), 0)
          + coalesce(length(CAST(session_id AS BLOB)), 0)
          + coalesce(length(CAST(extra AS BLOB)), 0) AS bytes
  FROM audit_events;

CREATE TRIGGER audit_usage_insert AFTER INSERT ON audit_events BEGIN
    UPDATE audit_usage SET rows = rows + 1,
           bytes = bytes + (SELECT bytes FROM audit_row_bytes WHERE id = NEW.id)
     WHERE id = 1;
END;

CREATE TRIGGER audit_usage_delete BEFORE DELETE ON audit_events BEGIN
    UPDATE audit_usage SET rows = rows - 1,
           bytes = bytes - (SELECT bytes FROM audit_row_bytes WHERE id = OLD.id)
     WHERE id = 1;
END;

CREATE TRIGGER audit_usage_update_before BEFORE UPDATE ON audit_events BEGIN
    UPDATE audit_usage SET bytes = bytes - (SELECT bytes FROM audit_row_bytes WHERE id = OLD.id)
     WHERE id = 1;
END;

CREATE TRIGGER audit_usage_update_after AFTER UPDATE ON audit_events BEGIN
    UPDATE audit_usage SET bytes = bytes + (SELECT bytes FROM audit_row_bytes WHERE id = NEW.id)
     WHERE id = 1;
END;
