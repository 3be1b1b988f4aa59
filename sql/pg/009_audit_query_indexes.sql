-- periscope schema v9 on PostgreSQL (sql/009_audit_query_indexes.sql). A SQLite index
-- entry ends with the rowid, so (col, ts_unix_nano) already orders by (ts_unix_nano, id);
-- a PostgreSQL btree does not, so id is written after ts_unix_nano here: GET /api/audit's
-- ORDER BY ts_unix_nano DESC, id DESC and its cursor ((ts_unix_nano, id) < (?, ?)) are
-- then read off one index backwards. The trailing columns let a second and third filter be
-- checked inside the index, as on SQLite.
DROP INDEX idx_audit_actor_ts;
CREATE INDEX idx_audit_actor_ts ON audit_events(actor_sub, ts_unix_nano, id, verb, outcome, cluster);
DROP INDEX idx_audit_verb_ts;
CREATE INDEX idx_audit_verb_ts ON audit_events(verb, ts_unix_nano, id, outcome, cluster);
DROP INDEX idx_audit_cluster_ts;
CREATE INDEX idx_audit_cluster_ts ON audit_events(cluster, ts_unix_nano, id, outcome);
DROP INDEX idx_audit_outcome_ts;
CREATE INDEX idx_audit_outcome_ts ON audit_events(outcome, ts_unix_nano, id);
DROP INDEX idx_audit_session;
CREATE INDEX idx_audit_session ON audit_events(session_id, ts_unix_nano, id);
CREATE INDEX idx_audit_request ON audit_events(request_id);
