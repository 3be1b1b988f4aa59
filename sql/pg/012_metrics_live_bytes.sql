-- periscope schema v12 on PostgreSQL (sql/012_metrics_live_bytes.sql): the bridges count
-- terminal bytes as they relay them, so the trigger no longer counts a close row's bytes;
-- everything else it counts is unchanged.
CREATE OR REPLACE FUNCTION metrics_audit_insert() RETURNS trigger LANGUAGE plpgsql AS $$
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
    END IF;
    RETURN NULL;
END $$;
