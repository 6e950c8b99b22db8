-- The confidential jobs of an org, by key (issue 22): a recruiter's row filter on every
-- application is `NOT (job_id IN <the org's confidential jobs whose hiring team lacks them>)`,
-- which a page statement builds once (a hashed subplan); without this index that set is a scan
-- of every job of the org for every page.
CREATE INDEX jobs_confidential ON jobs (org_id, id) WHERE confidential;
