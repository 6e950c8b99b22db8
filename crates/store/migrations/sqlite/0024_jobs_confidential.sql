-- The confidential jobs of an org, by key (issue 22): the set a recruiter's row filter on
-- applications builds from (see the PostgreSQL migration).
CREATE INDEX jobs_confidential ON jobs (org_id, id) WHERE confidential;
