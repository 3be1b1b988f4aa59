-- periscope schema v7: refusals in the audit log without a flood of rows.
-- The first refusal of a kind (actor, verb, code) in a minute writes its audit row at once;
-- the repeats of that minute are only counted here; once the minute is over, one more row
-- gives the count (store/audit_refusal.h). Audit rows are never updated (the hash chain
-- covers them), which is why the count lives here until its minute ends. A few rows per
-- signed-in user and minute at most; a window is deleted as soon as it is summed up.
CREATE TABLE audit_refusal_windows (
    actor_sub     TEXT NOT NULL,
    verb          TEXT NOT NULL,
    code          TEXT NOT NULL,
    outcome       TEXT NOT NULL,        -- the first refusal's: denied, or failure for sign-ins
    window_start  INTEGER NOT NULL,     -- unix seconds, a multiple of 60
    first_id      INTEGER NOT NULL,     -- the audit row of the first refusal
    cluster       TEXT,                 -- the first refusal's
    count         INTEGER NOT NULL,     -- every refusal of the window, the first included
    PRIMARY KEY (actor_sub, verb, code, window_start)
);
CREATE INDEX idx_audit_refusal_windows_start ON audit_refusal_windows(window_start);
