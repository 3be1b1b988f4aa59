-- periscope schema v6: the audit log's hash chain (docs/audit-api.md, "Tamper evidence").
-- Each row carries prev_hash, the SHA-256 (lowercase hex) of the previous row's canonical
-- form (store/audit_chain.h defines it); audit_chain keeps the anchor (the last row
-- retention deleted, or where the chain began) and the head (the newest row), both
-- updated in the same transaction as the row they follow. Rows written before this
-- migration (id <= the first anchor_id) are outside the chain.
ALTER TABLE audit_events ADD COLUMN prev_hash TEXT;

CREATE TABLE audit_chain (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    anchor_id    INTEGER NOT NULL,   -- rows with id <= this are gone, or predate the chain
    anchor_hash  TEXT NOT NULL,      -- what the row after the anchor must carry as prev_hash
    head_id      INTEGER NOT NULL,   -- the newest row of the chain
    head_hash    TEXT NOT NULL       -- the SHA-256 of its canonical form
);
INSERT INTO audit_chain (id, anchor_id, anchor_hash, head_id, head_hash)
SELECT 1, coalesce(max(id), 0), '0000000000000000000000000000000000000000000000000000000000000000',
       coalesce(max(id), 0), '0000000000000000000000000000000000000000000000000000000000000000'
  FROM audit_events;

-- The audit budget counts prev_hash too (sql/004_audit_budget.sql).
DROP VIEW audit_row_bytes;
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
          + coalesce(length(CAST(extra AS BLOB)), 0)
          + coalesce(length(CAST(prev_hash AS BLOB)), 0) AS bytes
  FROM audit_events;
