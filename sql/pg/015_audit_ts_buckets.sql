-- periscope schema v15 on PostgreSQL (sql/015_audit_ts_buckets.sql tells why): the audit
-- rows per span of time. An insert adds its row to its three buckets with one upsert per
-- row (the product writes one row a statement): bench/audit_write_bench.c measured no
-- difference in the backend's CPU per write, where a statement-level trigger over the
-- transition table, as audit_usage has, took 543 us against 320 without. Deletes and
-- updates are counted once per statement (a retention DELETE of many rows updates each
-- bucket once).
CREATE TABLE audit_ts_buckets (
    span    INTEGER NOT NULL,
    bucket  BIGINT NOT NULL,
    rows    BIGINT NOT NULL,
    PRIMARY KEY (span, bucket)
);

INSERT INTO audit_ts_buckets (span, bucket, rows)
SELECT s.span, e.ts_unix_nano >> s.span, count(*)
  FROM audit_events e CROSS JOIN (VALUES (36), (46), (56)) AS s(span)
 GROUP BY 1, 2;

-- The rows a statement added (sign 1) or removed (sign -1), counted per bucket.
CREATE FUNCTION audit_ts_buckets_add(changed BIGINT[], delta BIGINT) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO audit_ts_buckets AS b (span, bucket, rows)
    SELECT s.span, t.ts >> s.span, delta * count(*)
      FROM unnest(changed) AS t(ts) CROSS JOIN (VALUES (36), (46), (56)) AS s(span)
     GROUP BY 1, 2
     ORDER BY 1, 2
    ON CONFLICT (span, bucket) DO UPDATE SET rows = b.rows + EXCLUDED.rows;
    DELETE FROM audit_ts_buckets b
     WHERE b.rows = 0
       AND (b.span, b.bucket) IN (SELECT s.span, t.ts >> s.span
                                    FROM unnest(changed) AS t(ts)
                                         CROSS JOIN (VALUES (36), (46), (56)) AS s(span));
$$;

-- Spans in the order audit_ts_buckets_add locks them (span, then bucket), so an insert and
-- a retention DELETE never wait for each other in a cycle.
CREATE FUNCTION audit_ts_buckets_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_ts_buckets AS b (span, bucket, rows)
    VALUES (36, NEW.ts_unix_nano >> 36, 1), (46, NEW.ts_unix_nano >> 46, 1),
           (56, NEW.ts_unix_nano >> 56, 1)
    ON CONFLICT (span, bucket) DO UPDATE SET rows = b.rows + 1;
    RETURN NULL;
END $$;
CREATE FUNCTION audit_ts_buckets_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM audit_ts_buckets_add(ARRAY(SELECT ts_unix_nano FROM old_rows), -1);
    RETURN NULL;
END $$;
CREATE FUNCTION audit_ts_buckets_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM audit_ts_buckets_add(ARRAY(SELECT ts_unix_nano FROM old_rows), -1);
    PERFORM audit_ts_buckets_add(ARRAY(SELECT ts_unix_nano FROM new_rows), 1);
    RETURN NULL;
END $$;
CREATE TRIGGER audit_ts_buckets_insert AFTER INSERT ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_ts_buckets_inserted();
CREATE TRIGGER audit_ts_buckets_delete AFTER DELETE ON audit_events
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION audit_ts_buckets_deleted();
CREATE TRIGGER audit_ts_buckets_update AFTER UPDATE ON audit_events
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION audit_ts_buckets_updated();
