-- The durable job queue (crates/store/src/jobs.rs), named `job_queue` (`jobs` holds the
-- hiring jobs): one deployment-wide queue that every worker of every replica claims from with `FOR UPDATE SKIP LOCKED`. Each job belongs to an org
-- (`org_id`: whose work it is, what its operators see), but the queue is claimed across orgs
-- by priority and due time, so the claim index cannot lead with `org_id`: like `replicas`, the
-- table describes the deployment's work in flight, not an org's data, and on a sharded
-- PostgreSQL it stays a local table on the coordinator. Every index an org's own reads use
-- (listing, counting, unique keys) leads with `org_id`.
--
-- States: `available` (waiting for its `run_at`, a first run or a retry), `running` (claimed
-- by `locked_by` until `locked_until`, extended by heartbeats), `done`, `dead` (failed
-- `max_attempts` times, or permanently: kept for operators, retryable), `cancelled`.
CREATE TABLE job_queue (
    id            bigserial PRIMARY KEY,
    org_id        text COLLATE "C" NOT NULL,
    kind          text COLLATE "C" NOT NULL,
    payload       jsonb NOT NULL,
    priority      smallint NOT NULL DEFAULT 0,
    state         text COLLATE "C" NOT NULL DEFAULT 'available'
                  CHECK (state IN ('available', 'running', 'done', 'dead', 'cancelled')),
    attempt       integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    max_attempts  integer NOT NULL CHECK (max_attempts >= 1),
    unique_key    text COLLATE "C",
    enqueued_at   timestamptz NOT NULL,
    run_at        timestamptz NOT NULL,
    locked_by     text COLLATE "C",
    locked_until  timestamptz,
    finished_at   timestamptz,
    last_error    text
);

-- The claim: the due available jobs, highest priority first, then oldest due.
CREATE INDEX job_queue_claim ON job_queue (priority DESC, run_at, id) WHERE state = 'available';
-- Leases: expired ones (a worker died) and a worker's heartbeat.
CREATE INDEX job_queue_running ON job_queue (locked_until) WHERE state = 'running';
-- An org's jobs by state, newest first (operators' lists and counts).
CREATE INDEX job_queue_org_state ON job_queue (org_id, state, id);
-- At most one active job per (org, unique key).
CREATE UNIQUE INDEX job_queue_unique ON job_queue (org_id, unique_key)
    WHERE unique_key IS NOT NULL AND state IN ('available', 'running');
-- Pruning finished jobs past the retention.
CREATE INDEX job_queue_finished ON job_queue (finished_at) WHERE state IN ('done', 'cancelled');
