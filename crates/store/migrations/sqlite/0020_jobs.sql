-- The durable job queue; see the PostgreSQL migration of the same number. SQLite serves one
-- process (one writer): claims are `BEGIN IMMEDIATE` transactions. Times are microseconds since
-- the epoch, the caller's clock. AUTOINCREMENT: ids are never reused after pruning.
CREATE TABLE job_queue (
    id            INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    org_id        TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    payload       TEXT    NOT NULL,
    priority      INTEGER NOT NULL DEFAULT 0,
    state         TEXT    NOT NULL DEFAULT 'available'
                  CHECK (state IN ('available', 'running', 'done', 'dead', 'cancelled')),
    attempt       INTEGER NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    max_attempts  INTEGER NOT NULL CHECK (max_attempts >= 1),
    unique_key    TEXT,
    enqueued_at   INTEGER NOT NULL,
    run_at        INTEGER NOT NULL,
    locked_by     TEXT,
    locked_until  INTEGER,
    finished_at   INTEGER,
    last_error    TEXT
) STRICT;

CREATE INDEX job_queue_claim ON job_queue (priority DESC, run_at, id) WHERE state = 'available';
CREATE INDEX job_queue_running ON job_queue (locked_until) WHERE state = 'running';
CREATE INDEX job_queue_org_state ON job_queue (org_id, state, id);
CREATE UNIQUE INDEX job_queue_unique ON job_queue (org_id, unique_key)
    WHERE unique_key IS NOT NULL AND state IN ('available', 'running');
CREATE INDEX job_queue_finished ON job_queue (finished_at) WHERE state IN ('done', 'cancelled');
