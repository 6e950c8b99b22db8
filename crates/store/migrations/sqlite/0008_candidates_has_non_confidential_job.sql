-- Whether the candidate has an application to a job that is not confidential (see the
-- PostgreSQL migration of the same number): derived, always equal to "EXISTS an application of
-- the candidate to a job with `confidential = 0`"; the importer sets the exceptions at commit
-- and every write path keeps it equal. Existing orgs are backfilled here, once.
ALTER TABLE candidates ADD COLUMN has_non_confidential_job INTEGER NOT NULL DEFAULT 1
    CHECK (has_non_confidential_job IN (0, 1));
UPDATE candidates SET has_non_confidential_job = 0
    WHERE NOT EXISTS (SELECT 1 FROM applications a
                      JOIN jobs j ON j.org_id = a.org_id AND j.id = a.job_id
                      WHERE a.org_id = candidates.org_id AND a.candidate_id = candidates.id
                        AND j.confidential = 0);
