-- periscope schema v11 on PostgreSQL (sql/011_agent_tunnel_pid.sql). A pid is only
-- meaningful on one host: issue 15 replaces it by a lease (replica id + heartbeat).
ALTER TABLE agents ADD COLUMN tunnel_pid BIGINT;
