-- The job of the application on the rows below an application (see the PostgreSQL migration of
-- the same number): derived, always equal to the job of the row's application (for a seat, of
-- its interview's application); the importer writes it with the row and every write path must
-- keep it equal. SQLite cannot add a NOT NULL column without a default, so the column admits
-- NULL here; the store never writes one.
ALTER TABLE stage_transitions ADD COLUMN job_id TEXT;
UPDATE stage_transitions SET job_id = (SELECT a.job_id FROM applications a
    WHERE a.org_id = stage_transitions.org_id AND a.id = stage_transitions.application_id);

ALTER TABLE interviews ADD COLUMN job_id TEXT;
UPDATE interviews SET job_id = (SELECT a.job_id FROM applications a
    WHERE a.org_id = interviews.org_id AND a.id = interviews.application_id);

ALTER TABLE interview_participants ADD COLUMN job_id TEXT;
UPDATE interview_participants SET job_id = (SELECT i.job_id FROM interviews i
    WHERE i.org_id = interview_participants.org_id AND i.id = interview_participants.interview_id);

ALTER TABLE feedback ADD COLUMN job_id TEXT;
UPDATE feedback SET job_id = (SELECT a.job_id FROM applications a
    WHERE a.org_id = feedback.org_id AND a.id = feedback.application_id);

ALTER TABLE offers ADD COLUMN job_id TEXT;
UPDATE offers SET job_id = (SELECT a.job_id FROM applications a
    WHERE a.org_id = offers.org_id AND a.id = offers.application_id);
