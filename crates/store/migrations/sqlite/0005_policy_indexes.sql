-- Indexes for the row filters of access policies (see the PostgreSQL migration of the same
-- number): `id` is the last key column so the index covers `SELECT id ... WHERE job_id IN`.
CREATE INDEX applications_job_key ON applications (org_id, job_id, id);
CREATE INDEX interviews_application_key ON interviews (org_id, application_id, id);
