-- Whether the application's job is confidential (see the PostgreSQL migration of the same
-- number): derived, always equal to the `confidential` of the application's job; the importer
-- sets it at commit and every write path keeps it equal. Existing orgs are backfilled here, once.
ALTER TABLE applications ADD COLUMN job_confidential INTEGER NOT NULL DEFAULT 0
    CHECK (job_confidential IN (0, 1));
UPDATE applications SET job_confidential = 1
    WHERE EXISTS (SELECT 1 FROM jobs j
                  WHERE j.org_id = applications.org_id AND j.id = applications.job_id
                    AND j.confidential = 1);
