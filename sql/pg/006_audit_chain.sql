-- periscope schema v6 on PostgreSQL (sql/006_audit_chain.sql): the hash chain's state.
-- Writers on every replica append under a row lock on this one row (SELECT ... FOR UPDATE
-- in the insert's transaction, store/audit.c), so the chain stays one chain.
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

-- The audit budget counts prev_hash too (sql/pg/004_audit_budget.sql); the view and the
-- triggers call this function, so they count it from now on.
CREATE OR REPLACE FUNCTION audit_row_bytes_of(e audit_events) RETURNS BIGINT
LANGUAGE sql IMMUTABLE AS $$
SELECT 16::bigint + coalesce(octet_length(e.request_id), 0)
          + coalesce(octet_length(e.route), 0)
          + coalesce(octet_length(e.actor_sub), 0)
          + coalesce(octet_length(e.actor_email), 0)
          + coalesce(octet_length(e.actor_groups), 0)
          + coalesce(octet_length(e.verb), 0)
          + coalesce(octet_length(e.outcome), 0)
          + coalesce(octet_length(e.cluster), 0)
          + coalesce(octet_length(e.res_group), 0)
          + coalesce(octet_length(e.res_version), 0)
          + coalesce(octet_length(e.res_type), 0)
          + coalesce(octet_length(e.res_namespace), 0)
          + coalesce(octet_length(e.res_name), 0)
          + coalesce(octet_length(e.reason), 0)
          + coalesce(octet_length(e.session_id), 0)
          + coalesce(octet_length(e.extra), 0)
          + coalesce(octet_length(e.prev_hash), 0)
$$;
