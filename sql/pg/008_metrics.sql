-- periscope schema v8 on PostgreSQL (sql/008_metrics.sql): the shared counters.
-- PENDING (metrics module): the metrics_audit_insert trigger as PL/pgSQL, writing labels in
-- the same JSON text as SQLite's json_object (no spaces), which GET /metrics groups by.
CREATE TABLE metrics_counters (
    name    TEXT NOT NULL,
    labels  TEXT NOT NULL DEFAULT '{}',
    value   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (name, labels)
);
CREATE TABLE metrics_histograms (
    name    TEXT NOT NULL,
    labels  TEXT NOT NULL DEFAULT '{}',
    count   BIGINT NOT NULL DEFAULT 0,
    sum_ms  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (name, labels)
);
CREATE TABLE metrics_buckets (
    name    TEXT NOT NULL,
    labels  TEXT NOT NULL DEFAULT '{}',
    bucket  BIGINT NOT NULL,
    count   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (name, labels, bucket)
);
CREATE TABLE readiness_probe (
    id     BIGINT PRIMARY KEY CHECK (id = 1),
    at_ms  BIGINT NOT NULL
);
