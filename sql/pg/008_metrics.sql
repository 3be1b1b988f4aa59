-- periscope schema v8 on PostgreSQL (sql/008_metrics.sql): the shared counters, and the
-- trigger that counts the audit rows' events in the row's own transaction.
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

-- SQLite's json_object(k1, v1, k2, v2, ...) text: no spaces, keys in the order given,
-- strings quoted as to_json quotes them (the same escapes as SQLite's json_quote). GET
-- /metrics groups series by this text, so it must be byte for byte the same on both
-- engines (tests/unit/test_audit_pg.c metrics_trigger_labels_are_sqlites_json).
CREATE FUNCTION metrics_json_object(VARIADIC kv TEXT[]) RETURNS TEXT
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    out TEXT := '{';
BEGIN
    FOR i IN 1 .. coalesce(array_length(kv, 1), 0) BY 2 LOOP
        IF i > 1 THEN
            out := out || ',';
        END IF;
        out := out || to_json(kv[i])::text || ':' || to_json(kv[i + 1])::text;
    END LOOP;
    RETURN out || '}';
END $$;

CREATE FUNCTION metrics_count(n TEXT, l TEXT, v BIGINT) RETURNS VOID
LANGUAGE sql AS $$
INSERT INTO metrics_counters (name, labels, value) VALUES (n, l, v)
ON CONFLICT (name, labels) DO UPDATE SET value = metrics_counters.value + excluded.value
$$;

-- sql/008_metrics.sql's metrics_audit_insert, statement for statement (refusals are counted
-- by audit_refusal_record, not here).
CREATE FUNCTION metrics_audit_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    kind TEXT := CASE WHEN NEW.verb IN ('cluster_shell_open', 'cluster_shell_close')
                      THEN 'cluster_shell' ELSE 'node_shell' END;
BEGIN
    IF NEW.verb = 'login' AND NEW.outcome = 'success' THEN
        PERFORM metrics_count('periscope_signins_total',
                              metrics_json_object('outcome', NEW.outcome), 1);
    END IF;
    IF NEW.verb IN ('cluster_shell_open', 'ssm_session_open') AND NEW.outcome = 'success' THEN
        PERFORM metrics_count('periscope_shell_opens_total',
                              metrics_json_object('kind', kind,
                                                  'cluster', coalesce(NEW.cluster, '')), 1);
    END IF;
    IF NEW.verb IN ('cluster_shell_close', 'ssm_session_close') THEN
        PERFORM metrics_count('periscope_shell_closes_total',
                              metrics_json_object('kind', kind,
                                                  'cluster', coalesce(NEW.cluster, ''),
                                                  'reason', coalesce(NEW.reason, '')), 1);
        IF NEW.reason = 'lost' THEN
            PERFORM metrics_count('periscope_bridges_lost_total',
                                  metrics_json_object('kind', kind,
                                                      'cluster', coalesce(NEW.cluster, '')), 1);
        END IF;
        PERFORM metrics_count('periscope_shell_bytes_total',
                              metrics_json_object('kind', kind, 'direction', 'in'),
                              coalesce((NEW.extra::json ->> 'bytes_in')::bigint, 0));
        PERFORM metrics_count('periscope_shell_bytes_total',
                              metrics_json_object('kind', kind, 'direction', 'out'),
                              coalesce((NEW.extra::json ->> 'bytes_out')::bigint, 0));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER metrics_audit_insert AFTER INSERT ON audit_events
    FOR EACH ROW EXECUTE FUNCTION metrics_audit_insert();

CREATE TABLE readiness_probe (
    id     BIGINT PRIMARY KEY CHECK (id = 1),
    at_ms  BIGINT NOT NULL
);
