-- periscope schema v14: liveness as a lease, so that several replicas can share one database
-- (issue 15, docs/deployment.md "N replicas"). A live terminal's row names the replica that
-- serves it (database.replicaId); its heartbeat (heartbeat_at_ms, v5) renews the lease. A
-- replica judges its own rows by pid and start time (a killed bridge is seen at once); any
-- other replica's rows are alive while their heartbeat is younger than the lease, and the
-- reaper of whichever replica sees one expire writes its close row (reason "lost").
-- agents.tunnel_replica: which replica's tunnel process holds an agent's connection, beside
-- tunnel_pid (v11), which only means something on that replica.
ALTER TABLE shell_sessions ADD COLUMN replica_id TEXT;
ALTER TABLE agents ADD COLUMN tunnel_replica TEXT;
