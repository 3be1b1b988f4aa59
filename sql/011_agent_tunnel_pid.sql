-- periscope schema v11: which tunnel process holds an agent's connection.
--
-- An agent that reconnects while its old connection is still being torn down has two
-- tunnel processes for a moment; the old one's disconnect must not mark the new connection
-- down. Each tunnel process (one sshd per WebSocket, agent/tunnel_main.c) records its pid
-- when the agent authenticates and clears the row only while it still holds it.
ALTER TABLE agents ADD COLUMN tunnel_pid INTEGER;
