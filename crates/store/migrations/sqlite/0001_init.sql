-- Secondary indexes serve reads (an application's history, a job's applications, a user's
-- interviews, an interview's feedback); references that reads do not start from (source,
-- credited user, stages, by-user, feedback's application) are not indexed, to keep bulk imports fast. Imports and org replacement check
-- those foreign keys set-based (see store::import), not per row.
--
-- hireplane schema v1 (SQLite). Every table leads with org_id; every key and index starts with it.
-- Instants are INTEGER microseconds since 1970-01-01 UTC; dates are TEXT `YYYY-MM-DD`;
-- booleans are INTEGER 0/1; JSON is TEXT.

CREATE TABLE orgs (
    org_id      TEXT    NOT NULL PRIMARY KEY,
    name        TEXT    NOT NULL,
    timezone    TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE departments (
    org_id     TEXT NOT NULL REFERENCES orgs (org_id),
    id         TEXT NOT NULL,
    name       TEXT NOT NULL,
    parent_id  TEXT,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, parent_id) REFERENCES departments (org_id, id)
) STRICT;
CREATE INDEX departments_parent ON departments (org_id, parent_id);

CREATE TABLE users (
    org_id                   TEXT    NOT NULL REFERENCES orgs (org_id),
    id                       TEXT    NOT NULL,
    name                     TEXT    NOT NULL,
    email                    TEXT    NOT NULL,
    role                     TEXT    NOT NULL CHECK (role IN ('admin', 'recruiter', 'hiring_manager', 'interviewer')),
    timezone                 TEXT    NOT NULL,
    working_hours            TEXT    NOT NULL,
    max_interviews_per_day   INTEGER,
    max_interviews_per_week  INTEGER,
    active                   INTEGER NOT NULL CHECK (active IN (0, 1)),
    PRIMARY KEY (org_id, id)
) STRICT;
CREATE UNIQUE INDEX users_email ON users (org_id, lower(email));

CREATE TABLE user_departments (
    org_id         TEXT    NOT NULL,
    user_id        TEXT    NOT NULL,
    department_id  TEXT    NOT NULL,
    position       INTEGER NOT NULL,
    PRIMARY KEY (org_id, user_id, department_id),
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id),
    FOREIGN KEY (org_id, department_id) REFERENCES departments (org_id, id)
) STRICT;
CREATE INDEX user_departments_department ON user_departments (org_id, department_id);

CREATE TABLE sources (
    org_id  TEXT NOT NULL REFERENCES orgs (org_id),
    id      TEXT NOT NULL,
    name    TEXT NOT NULL,
    kind    TEXT NOT NULL CHECK (kind IN ('referral', 'agency', 'job_board', 'sourced', 'career_site', 'event', 'other')),
    PRIMARY KEY (org_id, id)
) STRICT;

CREATE TABLE custom_fields (
    org_id     TEXT    NOT NULL REFERENCES orgs (org_id),
    id         TEXT    NOT NULL,
    entity     TEXT    NOT NULL CHECK (entity IN ('candidate', 'application', 'job')),
    key        TEXT    NOT NULL,
    label      TEXT    NOT NULL,
    type       TEXT    NOT NULL CHECK (type IN ('text', 'number', 'boolean', 'date', 'select', 'multi_select')),
    options    TEXT    NOT NULL,
    sensitive  INTEGER NOT NULL CHECK (sensitive IN (0, 1)),
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, entity, key)
) STRICT;

CREATE TABLE jobs (
    org_id           TEXT    NOT NULL REFERENCES orgs (org_id),
    id               TEXT    NOT NULL,
    title            TEXT    NOT NULL,
    department_id    TEXT    NOT NULL,
    location         TEXT    NOT NULL,
    employment_type  TEXT    NOT NULL CHECK (employment_type IN ('full_time', 'part_time', 'contract', 'intern')),
    status           TEXT    NOT NULL CHECK (status IN ('draft', 'open', 'closed', 'archived')),
    confidential     INTEGER NOT NULL CHECK (confidential IN (0, 1)),
    opened_at        INTEGER NOT NULL,
    closed_at        INTEGER,
    headcount        INTEGER NOT NULL CHECK (headcount >= 1),
    custom_fields    TEXT    NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, department_id) REFERENCES departments (org_id, id)
) STRICT;
CREATE INDEX jobs_department ON jobs (org_id, department_id);

CREATE TABLE stages (
    org_id    TEXT    NOT NULL,
    id        TEXT    NOT NULL,
    job_id    TEXT    NOT NULL,
    name      TEXT    NOT NULL,
    kind      TEXT    NOT NULL CHECK (kind IN ('lead', 'application_review', 'screen', 'assessment', 'interview', 'onsite', 'offer', 'hired')),
    position  INTEGER NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, job_id, position),
    FOREIGN KEY (org_id, job_id) REFERENCES jobs (org_id, id)
) STRICT;

CREATE TABLE hiring_team (
    org_id    TEXT    NOT NULL,
    job_id    TEXT    NOT NULL,
    user_id   TEXT    NOT NULL,
    role      TEXT    NOT NULL CHECK (role IN ('hiring_manager', 'recruiter', 'coordinator', 'interviewer')),
    position  INTEGER NOT NULL,
    PRIMARY KEY (org_id, job_id, user_id, role),
    FOREIGN KEY (org_id, job_id) REFERENCES jobs (org_id, id),
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id)
) STRICT;
CREATE INDEX hiring_team_user ON hiring_team (org_id, user_id);

CREATE TABLE candidates (
    org_id         TEXT    NOT NULL REFERENCES orgs (org_id),
    id             TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    email          TEXT,
    phone          TEXT,
    location       TEXT,
    timezone       TEXT,
    created_at     INTEGER NOT NULL,
    tags           TEXT    NOT NULL,
    custom_fields  TEXT    NOT NULL,
    PRIMARY KEY (org_id, id)
) STRICT;

-- Demographics live apart from candidates: highly sensitive, never shown at row level.
CREATE TABLE candidate_demographics (
    org_id             TEXT NOT NULL,
    candidate_id       TEXT NOT NULL,
    gender             TEXT,
    race_ethnicity     TEXT,
    veteran_status     TEXT,
    disability_status  TEXT,
    PRIMARY KEY (org_id, candidate_id),
    FOREIGN KEY (org_id, candidate_id) REFERENCES candidates (org_id, id)
) STRICT;

CREATE TABLE applications (
    org_id               TEXT    NOT NULL,
    id                   TEXT    NOT NULL,
    candidate_id         TEXT    NOT NULL,
    job_id               TEXT    NOT NULL,
    source_id            TEXT,
    credited_to_user_id  TEXT,
    applied_at           INTEGER NOT NULL,
    status               TEXT    NOT NULL CHECK (status IN ('active', 'hired', 'archived')),
    current_stage_id     TEXT    NOT NULL,
    hired_at             INTEGER,
    archived_at          INTEGER,
    archive_reason       TEXT,
    custom_fields        TEXT    NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, candidate_id) REFERENCES candidates (org_id, id),
    FOREIGN KEY (org_id, job_id) REFERENCES jobs (org_id, id),
    FOREIGN KEY (org_id, source_id) REFERENCES sources (org_id, id),
    FOREIGN KEY (org_id, credited_to_user_id) REFERENCES users (org_id, id),
    FOREIGN KEY (org_id, current_stage_id) REFERENCES stages (org_id, id)
) STRICT;
CREATE INDEX applications_candidate ON applications (org_id, candidate_id);
CREATE INDEX applications_job ON applications (org_id, job_id, applied_at);

CREATE TABLE stage_transitions (
    org_id          TEXT    NOT NULL,
    id              TEXT    NOT NULL,
    application_id  TEXT    NOT NULL,
    from_stage_id   TEXT,
    to_stage_id     TEXT    NOT NULL,
    at              INTEGER NOT NULL,
    by_user_id      TEXT,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, application_id) REFERENCES applications (org_id, id),
    FOREIGN KEY (org_id, from_stage_id) REFERENCES stages (org_id, id),
    FOREIGN KEY (org_id, to_stage_id) REFERENCES stages (org_id, id),
    FOREIGN KEY (org_id, by_user_id) REFERENCES users (org_id, id)
) STRICT;
CREATE INDEX stage_transitions_application ON stage_transitions (org_id, application_id, at);

CREATE TABLE interviews (
    org_id          TEXT    NOT NULL,
    id              TEXT    NOT NULL,
    application_id  TEXT    NOT NULL,
    stage_id        TEXT    NOT NULL,
    title           TEXT    NOT NULL,
    starts_at       INTEGER NOT NULL,
    ends_at         INTEGER NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('scheduled', 'completed', 'cancelled', 'no_show')),
    PRIMARY KEY (org_id, id),
    CHECK (ends_at > starts_at),
    FOREIGN KEY (org_id, application_id) REFERENCES applications (org_id, id),
    FOREIGN KEY (org_id, stage_id) REFERENCES stages (org_id, id)
) STRICT;
CREATE INDEX interviews_application ON interviews (org_id, application_id);

CREATE TABLE interview_participants (
    org_id        TEXT    NOT NULL,
    interview_id  TEXT    NOT NULL,
    user_id       TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('interviewer', 'shadow', 'reverse_shadow')),
    position      INTEGER NOT NULL,
    PRIMARY KEY (org_id, interview_id, user_id),
    FOREIGN KEY (org_id, interview_id) REFERENCES interviews (org_id, id),
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id)
) STRICT;
CREATE INDEX interview_participants_user ON interview_participants (org_id, user_id);

CREATE TABLE feedback (
    org_id          TEXT    NOT NULL,
    id              TEXT    NOT NULL,
    interview_id    TEXT    NOT NULL,
    application_id  TEXT    NOT NULL,
    author_id       TEXT    NOT NULL,
    submitted_at    INTEGER NOT NULL,
    recommendation  TEXT    NOT NULL CHECK (recommendation IN ('strong_no', 'no', 'yes', 'strong_yes')),
    scores          TEXT    NOT NULL,
    notes           TEXT,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, interview_id) REFERENCES interviews (org_id, id),
    FOREIGN KEY (org_id, application_id) REFERENCES applications (org_id, id),
    FOREIGN KEY (org_id, author_id) REFERENCES users (org_id, id)
) STRICT;
CREATE INDEX feedback_interview ON feedback (org_id, interview_id);
CREATE INDEX feedback_author ON feedback (org_id, author_id);

CREATE TABLE offers (
    org_id           TEXT    NOT NULL,
    id               TEXT    NOT NULL,
    application_id   TEXT    NOT NULL,
    version          INTEGER NOT NULL CHECK (version >= 1),
    created_at       INTEGER NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('draft', 'pending_approval', 'approved', 'sent', 'accepted', 'declined', 'rescinded')),
    resolved_at      INTEGER,
    start_date       TEXT,
    salary_amount    REAL,
    salary_currency  TEXT,
    salary_period    TEXT CHECK (salary_period IN ('year', 'hour')),
    bonus            REAL,
    equity           TEXT,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, application_id, version),
    FOREIGN KEY (org_id, application_id) REFERENCES applications (org_id, id)
) STRICT;

CREATE TABLE interviewer_pools (
    org_id                    TEXT    NOT NULL REFERENCES orgs (org_id),
    id                        TEXT    NOT NULL,
    name                      TEXT    NOT NULL,
    required_shadows          INTEGER NOT NULL,
    required_reverse_shadows  INTEGER NOT NULL,
    PRIMARY KEY (org_id, id)
) STRICT;

CREATE TABLE pool_members (
    org_id                     TEXT    NOT NULL,
    pool_id                    TEXT    NOT NULL,
    user_id                    TEXT    NOT NULL,
    status                     TEXT    NOT NULL CHECK (status IN ('qualified', 'trainee')),
    shadows_completed          INTEGER NOT NULL,
    reverse_shadows_completed  INTEGER NOT NULL,
    position                   INTEGER NOT NULL,
    PRIMARY KEY (org_id, pool_id, user_id),
    FOREIGN KEY (org_id, pool_id) REFERENCES interviewer_pools (org_id, id),
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id)
) STRICT;
CREATE INDEX pool_members_user ON pool_members (org_id, user_id);

-- Busy blocks have no id in the interchange format; `seq` numbers them within the org.
CREATE TABLE busy_blocks (
    org_id     TEXT    NOT NULL,
    seq        INTEGER NOT NULL,
    user_id    TEXT    NOT NULL,
    starts_at  INTEGER NOT NULL,
    ends_at    INTEGER NOT NULL,
    PRIMARY KEY (org_id, seq),
    CHECK (ends_at > starts_at),
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id)
) STRICT;
CREATE INDEX busy_blocks_user ON busy_blocks (org_id, user_id, starts_at);
