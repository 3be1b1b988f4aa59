-- periscope schema v14 on PostgreSQL (sql/014_replica_leases.sql): the replica that serves a
-- live terminal (its heartbeat is the lease), and the one holding an agent's tunnel.
ALTER TABLE shell_sessions ADD COLUMN replica_id TEXT;
ALTER TABLE agents ADD COLUMN tunnel_replica TEXT;
