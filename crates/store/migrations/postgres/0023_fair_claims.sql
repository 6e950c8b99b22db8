-- Fair claims across orgs (crates/store/src/jobs.rs, "Fairness"): a claim walks the orgs that
-- have available jobs (a loose index scan, one index probe per org) and takes each org's next
-- jobs in its own order, so one org's backlog of thousands of jobs costs a claim a few probes
-- and never puts another org's job behind it. The index leads with `org_id`; the claim's old
-- deployment-wide order (priority, run_at) is now the order within an org.
CREATE INDEX job_queue_available ON job_queue (org_id, priority DESC, run_at, id)
    WHERE state = 'available';
DROP INDEX job_queue_claim;
-- Running jobs per org (the claim's load count) and per pool (its per-org cap).
CREATE INDEX job_queue_running_org ON job_queue (org_id, locked_by) WHERE state = 'running';
