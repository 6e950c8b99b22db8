-- The interview loops booked through `bookInterviewLoop`; see the PostgreSQL migration of the
-- same number.
CREATE TABLE interview_loops (
    org_id          TEXT    NOT NULL,
    id              TEXT    NOT NULL,
    application_id  TEXT    NOT NULL,
    stage_id        TEXT    NOT NULL,
    plan            TEXT    NOT NULL,
    booked          TEXT    NOT NULL,
    interview_ids   TEXT    NOT NULL,
    booked_at       INTEGER NOT NULL,
    booked_by       TEXT,
    replaced_by     TEXT,
    PRIMARY KEY (org_id, id)
) STRICT;
CREATE INDEX interview_loops_application ON interview_loops (org_id, application_id);
