-- periscope schema v12 on PostgreSQL (sql/012_metrics_live_bytes.sql): on SQLite it only
-- redefines the metrics trigger, which 008's PENDING note covers here.
SELECT 1;
