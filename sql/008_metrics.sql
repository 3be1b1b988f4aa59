-- periscope schema v8: Prometheus counters that every process adds to and none can lose.
--
-- GET /metrics is answered by one FastCGI worker, but the events happen in every worker and
-- in every bridge process, each of which exits. So the counters live here, in the one state
-- all processes share, and are only ever added to: a process that exits takes nothing with
-- it, and retention (which deletes audit rows) never touches them.
--
-- labels is a compact JSON object of the series' labels, in the metric's fixed label order
-- (lib/metrics/metrics_store.h); its values are bounded (cluster names from the config, kinds,
-- codes and reasons from the code), never a user or node name.
CREATE TABLE metrics_counters (
    name    TEXT NOT NULL,
    labels  TEXT NOT NULL DEFAULT '{}',
    value   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (name, labels)
) WITHOUT ROWID;

-- Histograms: one row per series for its count and sum (milliseconds), one row per
-- bucket (its index in the metric's bounds, lib/store/metrics_store.c) with the number of
-- observations that fell in it alone; /metrics renders them cumulative.
CREATE TABLE metrics_histograms (
    name    TEXT NOT NULL,
    labels  TEXT NOT NULL DEFAULT '{}',
    count   INTEGER NOT NULL DEFAULT 0,
    sum_ms  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (name, labels)
) WITHOUT ROWID;
CREATE TABLE metrics_buckets (
    name    TEXT NOT NULL,
    labels  TEXT NOT NULL DEFAULT '{}',
    bucket  INTEGER NOT NULL,
    count   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (name, labels, bucket)
) WITHOUT ROWID;

-- The audit rows are the events: counting them in a trigger counts every writer (the
-- FastCGI workers' sign-ins, the bridges' opens and closes, the maintenance sweep's lost
-- close rows) in the same transaction as the row, whatever program writes it. Refusals
-- (outcome denied, and failed sign-ins) are not counted here: their rows are aggregated
-- per minute (store/audit_refusal.h), so audit_refusal_record counts each one instead.
CREATE TRIGGER metrics_audit_insert AFTER INSERT ON audit_events BEGIN
    INSERT INTO metrics_counters (name, labels, value)
    SELECT 'periscope_signins_total', json_object('outcome', NEW.outcome), 1
     WHERE NEW.verb = 'login' AND NEW.outcome = 'success'
    UNION ALL
    SELECT 'periscope_shell_opens_total',
           json_object('kind', CASE NEW.verb WHEN 'cluster_shell_open' THEN 'cluster_shell'
                                             ELSE 'node_shell' END,
                       'cluster', coalesce(NEW.cluster, '')), 1
     WHERE NEW.verb IN ('cluster_shell_open', 'ssm_session_open') AND NEW.outcome = 'success'
    UNION ALL
    SELECT 'periscope_shell_closes_total',
           json_object('kind', CASE NEW.verb WHEN 'cluster_shell_close' THEN 'cluster_shell'
                                             ELSE 'node_shell' END,
                       'cluster', coalesce(NEW.cluster, ''),
                       'reason', coalesce(NEW.reason, '')), 1
     WHERE NEW.verb IN ('cluster_shell_close', 'ssm_session_close')
    UNION ALL
    SELECT 'periscope_bridges_lost_total',
           json_object('kind', CASE NEW.verb WHEN 'cluster_shell_close' THEN 'cluster_shell'
                                             ELSE 'node_shell' END,
                       'cluster', coalesce(NEW.cluster, '')), 1
     WHERE NEW.verb IN ('cluster_shell_close', 'ssm_session_close') AND NEW.reason = 'lost'
    UNION ALL
    SELECT 'periscope_shell_bytes_total',
           json_object('kind', CASE NEW.verb WHEN 'cluster_shell_close' THEN 'cluster_shell'
                                             ELSE 'node_shell' END,
                       'direction', d.direction),
           coalesce(json_extract(NEW.extra, '$.' || d.field), 0)
      FROM (SELECT 'in' AS direction, 'bytes_in' AS field
            UNION ALL SELECT 'out', 'bytes_out') AS d
     WHERE NEW.verb IN ('cluster_shell_close', 'ssm_session_close')
    ON CONFLICT (name, labels) DO UPDATE SET value = value + excluded.value;
END;

-- /readyz proves the database writable by committing a write here (fcgi/health.c).
CREATE TABLE readiness_probe (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    at_ms  INTEGER NOT NULL
);
