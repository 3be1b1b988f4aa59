-- periscope schema v4 on PostgreSQL (sql/004_audit_budget.sql): the login attempts' client.
-- PENDING (ported with the audit module, docs/HACKING.md "Storage engines"): audit_usage's
-- bookkeeping (the audit_row_bytes view and the four triggers) as PL/pgSQL; until then the
-- table is here and nothing updates it.
ALTER TABLE oidc_logins ADD COLUMN client TEXT NOT NULL DEFAULT '';
CREATE INDEX idx_oidc_logins_client ON oidc_logins(client, created_at);
CREATE INDEX idx_oidc_logins_created ON oidc_logins(created_at);

CREATE TABLE audit_usage (
    id     BIGINT PRIMARY KEY CHECK (id = 1),
    bytes  BIGINT NOT NULL,
    rows   BIGINT NOT NULL
);
INSERT INTO audit_usage (id, bytes, rows) VALUES (1, 0, 0);
