-- Indexes for the row filters of access policies. A policy on a child row that goes through its
-- application to the job (`resource.application.job.confidential`, a recruiter's view of
-- feedback, interviews, offers) becomes `application_id IN (SELECT id FROM applications WHERE
-- job_id IN (...))`: with `id` in the index, that set is an index-only scan over the few jobs
-- concerned instead of a scan of every application. The same for interviews' seats through
-- their interview (bench/policy-reports.sh: feedback-distribution as a recruiter went from 3.1x
-- to 1.5x of the admin's time on 1,000,000 applications).
CREATE INDEX applications_job_key ON applications (org_id, job_id) INCLUDE (id);
CREATE INDEX interviews_application_key ON interviews (org_id, application_id) INCLUDE (id);
