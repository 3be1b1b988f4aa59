-- periscope schema v15: how many audit rows fall in each span of time, so that GET
-- /api/audit's unfiltered `offset` seeks instead of stepping over every skipped row (about
-- 30 ms for an offset of 900,000 at a million rows; lib/store/audit_seek.c).
--
-- The log is read newest first by (ts_unix_nano, id). A bucket is the set of rows whose
-- ts_unix_nano >> span is the same; buckets of one span partition that order exactly
-- (equal timestamps share a bucket), whatever the ids are: ids may skip (PostgreSQL's
-- identity consumes a value on a rolled-back insert) and need not follow the timestamps
-- (several writers take their timestamps before the write lock). Three spans, 2^10 apart:
-- 2^56 ns (2.3 years), 2^46 ns (19.5 hours) and 2^36 ns (69 seconds); a seek walks at most
-- 1,024 buckets of each below the top span, then steps over the rows of one 69 s bucket
-- (a log written at 100 rows a second: 6,900 rows, under a millisecond). A narrower
-- bucket would hold about one row of a quiet log: 2^32 ns made 605,000 buckets for the
-- benchmark's million rows 2.6 s apart; 2^36 makes 38,000.
-- Kept by triggers, like audit_usage, whatever program writes or deletes rows; a bucket
-- that becomes empty is deleted, so retention leaves nothing behind.
CREATE TABLE audit_ts_buckets (
    span    INTEGER NOT NULL,
    bucket  INTEGER NOT NULL,
    rows    INTEGER NOT NULL,
    PRIMARY KEY (span, bucket)
) WITHOUT ROWID;

INSERT INTO audit_ts_buckets (span, bucket, rows)
SELECT s.span, e.ts_unix_nano >> s.span, count(*)
  FROM audit_events e,
       (SELECT 36 AS span UNION ALL SELECT 46 UNION ALL SELECT 56) s
 GROUP BY 1, 2;

CREATE TRIGGER audit_ts_buckets_insert AFTER INSERT ON audit_events BEGIN
    INSERT INTO audit_ts_buckets (span, bucket, rows)
    VALUES (36, NEW.ts_unix_nano >> 36, 1), (46, NEW.ts_unix_nano >> 46, 1),
           (56, NEW.ts_unix_nano >> 56, 1)
    ON CONFLICT (span, bucket) DO UPDATE SET rows = rows + 1;
END;

CREATE TRIGGER audit_ts_buckets_delete AFTER DELETE ON audit_events BEGIN
    UPDATE audit_ts_buckets SET rows = rows - 1
     WHERE (span = 36 AND bucket = OLD.ts_unix_nano >> 36)
        OR (span = 46 AND bucket = OLD.ts_unix_nano >> 46)
        OR (span = 56 AND bucket = OLD.ts_unix_nano >> 56);
    DELETE FROM audit_ts_buckets
     WHERE rows = 0
       AND ((span = 36 AND bucket = OLD.ts_unix_nano >> 36)
         OR (span = 46 AND bucket = OLD.ts_unix_nano >> 46)
         OR (span = 56 AND bucket = OLD.ts_unix_nano >> 56));
END;

-- Audit rows are never updated (the hash chain), but a timestamp that moved would move
-- its row to another bucket.
CREATE TRIGGER audit_ts_buckets_update AFTER UPDATE OF ts_unix_nano ON audit_events
WHEN OLD.ts_unix_nano <> NEW.ts_unix_nano BEGIN
    UPDATE audit_ts_buckets SET rows = rows - 1
     WHERE (span = 36 AND bucket = OLD.ts_unix_nano >> 36)
        OR (span = 46 AND bucket = OLD.ts_unix_nano >> 46)
        OR (span = 56 AND bucket = OLD.ts_unix_nano >> 56);
    DELETE FROM audit_ts_buckets
     WHERE rows = 0
       AND ((span = 36 AND bucket = OLD.ts_unix_nano >> 36)
         OR (span = 46 AND bucket = OLD.ts_unix_nano >> 46)
         OR (span = 56 AND bucket = OLD.ts_unix_nano >> 56));
    INSERT INTO audit_ts_buckets (span, bucket, rows)
    VALUES (36, NEW.ts_unix_nano >> 36, 1), (46, NEW.ts_unix_nano >> 46, 1),
           (56, NEW.ts_unix_nano >> 56, 1)
    ON CONFLICT (span, bucket) DO UPDATE SET rows = rows + 1;
END;

-- The filter indexes of 009 put their extra columns between ts_unix_nano and the rowid, so
-- within one timestamp they were not in id order: GET /api/audit's ORDER BY ts_unix_nano
-- DESC, id DESC then sorted each run of equal timestamps, and a sorted row is built whole
-- (the table visited) before OFFSET drops it: an offset of 112,500 into one verb's rows
-- cost 260 ms of CPU at a million rows. With id written after ts_unix_nano (as PostgreSQL's
-- indexes have it, sql/pg/009) the index gives the order itself and a skipped row is
-- never read from the table.
DROP INDEX idx_audit_actor_ts;
CREATE INDEX idx_audit_actor_ts ON audit_events(actor_sub, ts_unix_nano, id, verb, outcome, cluster);
DROP INDEX idx_audit_verb_ts;
CREATE INDEX idx_audit_verb_ts ON audit_events(verb, ts_unix_nano, id, outcome, cluster);
DROP INDEX idx_audit_cluster_ts;
CREATE INDEX idx_audit_cluster_ts ON audit_events(cluster, ts_unix_nano, id, outcome);
-- Dropping an index drops its statistics, without which the planner took the verb's index
-- (eight times the operator's rows) for verb+actor: 74 ms instead of 2.6 at a million
-- rows. Only these three are measured again (maintenance's PRAGMA optimize keeps them).
ANALYZE idx_audit_actor_ts;
ANALYZE idx_audit_verb_ts;
ANALYZE idx_audit_cluster_ts;
