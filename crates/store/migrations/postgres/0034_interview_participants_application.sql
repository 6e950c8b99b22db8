-- The application of the interview, stored on its seats (`interview_participants.application_id`),
-- so that "the applications a user interviews for" (Cedar's `Application.interviewers`,
-- crates/policy/src/model.rs `Membership::ApplicationInterviewers`) is one index range of the
-- user's seats instead of a lookup of every interview of theirs (issue 22: a hiring manager's page
-- of applications is driven from that set, `Lower::page_driver`, and takes the first rows after
-- the cursor from this index, in key order).
--
-- Derived data, like the seat's `job_id` (migration 6): it always equals the `application_id` of
-- the seat's interview. The importer writes it with the row (the interview record names its
-- application), every write path inserts seats with their interview (`rows::rows`), and nothing
-- moves an interview to another application. `Store::stale_seat_applications` checks it. No
-- foreign key of its own: the interview's key guarantees the application exists.
--
-- Existing orgs are backfilled here, once.
ALTER TABLE interview_participants ADD COLUMN application_id text COLLATE "C";
UPDATE interview_participants AS p SET application_id = i.application_id
    FROM interviews AS i WHERE i.org_id = p.org_id AND i.id = p.interview_id;
ALTER TABLE interview_participants ALTER COLUMN application_id SET NOT NULL;

-- A user's seats by application, in key order: the set above as one index range (index-only
-- after VACUUM). It replaces the index of migration 1 on (org_id, user_id), whose lookups by
-- user it serves as well.
CREATE INDEX interview_participants_user_application
    ON interview_participants (org_id, user_id, application_id);
DROP INDEX IF EXISTS interview_participants_user;
