-- periscope schema v9 on PostgreSQL (sql/009_audit_query_indexes.sql).
DROP INDEX idx_audit_actor_ts;
CREATE INDEX idx_audit_actor_ts ON audit_events(actor_sub, ts_unix_nano, verb, outcome, cluster);
DROP INDEX idx_audit_verb_ts;
CREATE INDEX idx_audit_verb_ts ON audit_events(verb, ts_unix_nano, outcome, cluster);
DROP INDEX idx_audit_cluster_ts;
CREATE INDEX idx_audit_cluster_ts ON audit_events(cluster, ts_unix_nano, outcome);
DROP INDEX idx_audit_session;
CREATE INDEX idx_audit_session ON audit_events(session_id, ts_unix_nano);
CREATE INDEX idx_audit_request ON audit_events(request_id);
