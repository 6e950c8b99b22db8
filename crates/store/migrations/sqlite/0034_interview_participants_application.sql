-- The application of the interview, stored on its seats (see the PostgreSQL migration of the
-- same number): derived, always equal to the `application_id` of the seat's interview; the
-- importer writes it with the row and every write path inserts seats with their interview.
-- SQLite cannot add a NOT NULL column without a default, so the column admits NULL here; the
-- store never writes one. Existing orgs are backfilled here, once.
ALTER TABLE interview_participants ADD COLUMN application_id TEXT;
UPDATE interview_participants SET application_id = (SELECT i.application_id FROM interviews i
    WHERE i.org_id = interview_participants.org_id AND i.id = interview_participants.interview_id);

-- A user's seats by application; replaces the index of migration 1 on (org_id, user_id).
CREATE INDEX interview_participants_user_application
    ON interview_participants (org_id, user_id, application_id);
DROP INDEX IF EXISTS interview_participants_user;
