-- periscope schema v4 on PostgreSQL (sql/004_audit_budget.sql): the login attempts' client,
-- and the audit rows' own size kept by triggers, whatever program writes them.
ALTER TABLE oidc_logins ADD COLUMN client TEXT NOT NULL DEFAULT '';
-- SQLite evicts the oldest attempts by (created_at, rowid); PostgreSQL has no stable rowid,
-- so the insertion order is this column (store/login_attempts.c).
ALTER TABLE oidc_logins ADD COLUMN seq BIGINT GENERATED ALWAYS AS IDENTITY;
CREATE INDEX idx_oidc_logins_client ON oidc_logins(client, created_at);
CREATE INDEX idx_oidc_logins_created ON oidc_logins(created_at);

CREATE TABLE audit_usage (
    id     BIGINT PRIMARY KEY CHECK (id = 1),
    bytes  BIGINT NOT NULL,
    rows   BIGINT NOT NULL
);

-- One row's bytes, SQLite's measure: each text column's UTF-8 bytes (octet_length is
-- length(CAST(x AS BLOB))), 16 for the two integer columns. 006 adds prev_hash to it.
CREATE FUNCTION audit_row_bytes_of(e audit_events) RETURNS BIGINT
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
$$;

INSERT INTO audit_usage (id, bytes, rows)
SELECT 1, coalesce(sum(audit_row_bytes_of(e)), 0), count(*) FROM audit_events e;

-- The same view as SQLite's, for retention (store/audit_retention.c).
CREATE VIEW audit_row_bytes AS
SELECT e.id, e.ts_unix_nano, audit_row_bytes_of(e) AS bytes FROM audit_events e;

-- The bookkeeping, once per statement over its transition table (SQLite's triggers run per
-- row; the sums are the same): a retention DELETE of many rows updates audit_usage once.
-- The audit_usage row lock also orders concurrent writers on several replicas.
CREATE FUNCTION audit_usage_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE audit_usage
       SET rows = rows + (SELECT count(*) FROM new_rows),
           bytes = bytes + (SELECT coalesce(sum(audit_row_bytes_of(n)), 0) FROM new_rows n)
     WHERE id = 1;
    RETURN NULL;
END $$;
CREATE FUNCTION audit_usage_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE audit_usage
       SET rows = rows - (SELECT count(*) FROM old_rows),
           bytes = bytes - (SELECT coalesce(sum(audit_row_bytes_of(o)), 0) FROM old_rows o)
     WHERE id = 1;
    RETURN NULL;
END $$;
CREATE FUNCTION audit_usage_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE audit_usage
       SET bytes = bytes - (SELECT coalesce(sum(audit_row_bytes_of(o)), 0) FROM old_rows o)
                         + (SELECT coalesce(sum(audit_row_bytes_of(n)), 0) FROM new_rows n)
     WHERE id = 1;
    RETURN NULL;
END $$;
CREATE TRIGGER audit_usage_insert AFTER INSERT ON audit_events
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit_usage_inserted();
CREATE TRIGGER audit_usage_delete AFTER DELETE ON audit_events
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit_usage_deleted();
CREATE TRIGGER audit_usage_update AFTER UPDATE ON audit_events
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION audit_usage_updated();
