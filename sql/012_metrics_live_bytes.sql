-- periscope schema v12: terminal bytes counted as they are relayed, not only at close.
--
-- v8 added a close row's bytes to periscope_shell_bytes_total, so a terminal open for hours
-- showed nothing until it closed. Now each bridge adds the bytes relayed since its last
-- heartbeat, in the heartbeat's own transaction (the registry row's bytes and the counter
-- move together), and the rest just before its close row; a bridge that dies has counted
-- exactly what its "lost" close row reports (the last heartbeat's bytes). The trigger no
-- longer counts bytes; everything else it counts is unchanged, and no value goes back.
DROP TRIGGER metrics_audit_insert;
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
    ON CONFLICT (name, labels) DO UPDATE SET value = value + excluded.value;
END;
