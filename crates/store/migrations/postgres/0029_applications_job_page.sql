-- A hiring manager's page of applications (issue 22): their row filter is `job_id IN <their
-- jobs> OR id IN <the applications they interview for>`, and a page statement is driven from
-- those sets (query_compiler::lower, `Lower::page_driver`): per job, the first rows after the
-- cursor in key order, an index range of (job_id, id). The index of migration 5 carries `id`
-- only as an included column, not in key order, so it replaces that one (the same lookups by
-- job, index-only as before).
CREATE INDEX applications_job_page ON applications (org_id, job_id, id);
DROP INDEX applications_job_key;
