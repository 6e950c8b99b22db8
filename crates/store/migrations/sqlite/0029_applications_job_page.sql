-- A page of applications driven from the viewer's jobs (see the PostgreSQL migration of the same
-- number) reads an index range of (org_id, job_id, id): SQLite's `applications_job_key`
-- (migration 5) already is that index (SQLite pages are not driven: no `LATERAL`), so this
-- changes nothing; recorded so that both stores have the same versions.
CREATE INDEX IF NOT EXISTS applications_job_key ON applications (org_id, job_id, id);
