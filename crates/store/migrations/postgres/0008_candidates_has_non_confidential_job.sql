-- Whether the candidate has an application to a job that is not confidential (Cedar's
-- `Candidate.hasNonConfidentialJob`), stored on the candidate so that an access policy on it (a
-- recruiter's view of candidates) reads one column of the row instead of computing, on every
-- statement, the candidates applying only to confidential jobs and those without applications
-- (two anti joins over every application). crates/policy/src/model.rs declares the column.
--
-- Derived data: it always equals "EXISTS an application of the candidate to a job with
-- `confidential = FALSE`". The importer writes candidates without it (the default) and sets the
-- exceptions at commit (`DERIVE_CANDIDATE_FLAGS_*` in crates/store/src/migrate.rs); every write
-- path that inserts a candidate or an application, or changes a job's `confidential`, keeps it
-- equal in the same transaction. `Store::stale_candidate_flags` checks it.
--
-- Existing orgs are backfilled here, once: every row is TRUE after the ALTER, so only the
-- candidates without an application to a job that is not confidential change.
ALTER TABLE candidates ADD COLUMN has_non_confidential_job boolean NOT NULL DEFAULT TRUE;
UPDATE candidates AS c SET has_non_confidential_job = FALSE
    WHERE NOT EXISTS (SELECT 1 FROM applications a
                      JOIN jobs j ON j.org_id = a.org_id AND j.id = a.job_id
                      WHERE a.org_id = c.org_id AND a.candidate_id = c.id AND NOT j.confidential);
