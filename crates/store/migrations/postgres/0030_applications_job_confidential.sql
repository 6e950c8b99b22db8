-- Whether the application's job is confidential (Cedar's `Application.job.confidential`),
-- stored on the application so that a recruiter's page of applications (issue 22) tests one
-- column of the row (`NOT job_confidential OR job_id IN <their hiring teams>`) instead of probing
-- a set of the org's hidden jobs for every row it reads. crates/policy/src/model.rs declares the
-- column (`Application`'s stored attributes); the policy engine reads it in the page form of a
-- filter only.
--
-- Derived data: it always equals the `confidential` of the application's job. The importer
-- writes applications without it (the default FALSE) and sets the applications of confidential
-- jobs at commit (`DERIVE_APPLICATION_JOB_CONFIDENTIAL_*` in crates/store/src/migrate.rs); every
-- write path that inserts an application or changes a job's `confidential` keeps it equal in
-- the same transaction. `Store::stale_application_flags` checks it.
--
-- Existing orgs are backfilled here, once.
ALTER TABLE applications ADD COLUMN job_confidential boolean NOT NULL DEFAULT FALSE;
UPDATE applications AS a SET job_confidential = TRUE
    FROM jobs j
    WHERE j.org_id = a.org_id AND j.id = a.job_id AND j.confidential;
