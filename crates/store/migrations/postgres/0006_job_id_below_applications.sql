-- The job of the application, stored on the rows below an application (stage transitions,
-- interviews, interview seats, feedback, offers), so that an access policy on "the job of this
-- row's application" (`resource.application.job.confidential`, a recruiter's view of feedback,
-- offers, interviews) is one anti join against a few jobs instead of a join through every
-- application (crates/policy/src/model.rs declares it as a shortcut of `application.job`).
--
-- Derived data: it always equals the job of the row's application (for a seat, of its
-- interview's application). The importer writes it with the row; every write path that inserts
-- such a row, or moves an application to another job, must keep it equal. It has no foreign key
-- of its own (the application's key guarantees the job exists, and an unindexed key to `jobs`
-- would make deleting jobs check every row of these tables).
--
-- Existing orgs are backfilled here, once.
ALTER TABLE stage_transitions ADD COLUMN job_id text COLLATE "C";
UPDATE stage_transitions AS t SET job_id = a.job_id
    FROM applications AS a WHERE a.org_id = t.org_id AND a.id = t.application_id;
ALTER TABLE stage_transitions ALTER COLUMN job_id SET NOT NULL;

ALTER TABLE interviews ADD COLUMN job_id text COLLATE "C";
UPDATE interviews AS t SET job_id = a.job_id
    FROM applications AS a WHERE a.org_id = t.org_id AND a.id = t.application_id;
ALTER TABLE interviews ALTER COLUMN job_id SET NOT NULL;

ALTER TABLE interview_participants ADD COLUMN job_id text COLLATE "C";
UPDATE interview_participants AS t SET job_id = i.job_id
    FROM interviews AS i WHERE i.org_id = t.org_id AND i.id = t.interview_id;
ALTER TABLE interview_participants ALTER COLUMN job_id SET NOT NULL;

ALTER TABLE feedback ADD COLUMN job_id text COLLATE "C";
UPDATE feedback AS t SET job_id = a.job_id
    FROM applications AS a WHERE a.org_id = t.org_id AND a.id = t.application_id;
ALTER TABLE feedback ALTER COLUMN job_id SET NOT NULL;

ALTER TABLE offers ADD COLUMN job_id text COLLATE "C";
UPDATE offers AS t SET job_id = a.job_id
    FROM applications AS a WHERE a.org_id = t.org_id AND a.id = t.application_id;
ALTER TABLE offers ALTER COLUMN job_id SET NOT NULL;
