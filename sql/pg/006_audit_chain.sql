-- periscope schema v6 on PostgreSQL (sql/006_audit_chain.sql): the hash chain's state.
-- PENDING (audit module): audit_row_bytes counting prev_hash, with 004's bookkeeping.
ALTER TABLE audit_events ADD COLUMN prev_hash TEXT;
CREATE TABLE audit_chain (
    id           BIGINT PRIMARY KEY CHECK (id = 1),
    anchor_id    BIGINT NOT NULL,
    anchor_hash  TEXT NOT NULL,
    head_id      BIGINT NOT NULL,
    head_hash    TEXT NOT NULL
);
INSERT INTO audit_chain (id, anchor_id, anchor_hash, head_id, head_hash)
SELECT 1, coalesce(max(id), 0), '0000000000000000000000000000000000000000000000000000000000000000',
       coalesce(max(id), 0), '0000000000000000000000000000000000000000000000000000000000000000'
  FROM audit_events;
