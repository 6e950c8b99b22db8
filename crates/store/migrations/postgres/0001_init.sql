-- Secondary indexes serve reads (an application's history, a job's applications, a user's
-- interviews, an interview's feedback); references that reads do not start from (source,
-- credited user, stages, by-user, feedback's application) are not indexed, to keep bulk imports fast. Imports and org replacement check
-- those foreign keys set-based (see store::import), not per row.
--
-- hireplane schema v1 (PostgreSQL). Every table leads with org_id; every key and index starts with it.
-- Ids are `text COLLATE "C"` (byte order, like SQLite); instants are timestamptz; JSON is jsonb.

CREATE TABLE orgs (
    org_id      text COLLATE "C"    NOT NULL PRIMARY KEY,
    name        text    NOT NULL,
    timezone    text    NOT NULL,
    created_at  timestamptz NOT NULL
);

CREATE TABLE departments (
    org_id     text COLLATE "C" NOT NULL REFERENCES orgs (org_id),
    id         text COLLATE "C" NOT NULL,
    name       text NOT NULL,
    parent_id  text COLLATE "C",
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, parent_id) REFERENCES departments (org_id, id)
);
CREATE INDEX departments_parent ON departments (org_id, parent_id);

CREATE TABLE users (
    org_id                   text COLLATE "C"    NOT NULL REFERENCES orgs (org_id),
    id                       text COLLATE "C"    NOT NULL,
    name                     text    NOT NULL,
    email                    text    NOT NULL,
    role                     text    NOT NULL CHECK (role IN ('admin', 'recruiter', 'hiring_manager', 'interviewer')),
    timezone                 text    NOT NULL,
    working_hours            jsonb    NOT NULL,
    max_interviews_per_day   integer,
    max_interviews_per_week  integer,
    active                   boolean NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE UNIQUE INDEX users_email ON users (org_id, lower(email));

CREATE TABLE user_departments (
    org_id         text COLLATE "C"    NOT NULL,
    user_id        text COLLATE "C"    NOT NULL,
    department_id  text COLLATE "C"    NOT NULL,
    position       integer NOT NULL,
    PRIMARY KEY (org_id, user_id, department_id),
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id),
    FOREIGN KEY (org_id, department_id) REFERENCES departments (org_id, id)
);
CREATE INDEX user_departments_department ON user_departments (org_id, department_id);

CREATE TABLE sources (
    org_id  text COLLATE "C" NOT NULL REFERENCES orgs (org_id),
    id      text COLLATE "C" NOT NULL,
    name    text NOT NULL,
    kind    text NOT NULL CHECK (kind IN ('referral', 'agency', 'job_board', 'sourced', 'career_site', 'event', 'other')),
    PRIMARY KEY (org_id, id)
);

CREATE TABLE custom_fields (
    org_id     text COLLATE "C"    NOT NULL REFERENCES orgs (org_id),
    id         text COLLATE "C"    NOT NULL,
    entity     text    NOT NULL CHECK (entity IN ('candidate', 'application', 'job')),
    key        text    NOT NULL,
    label      text    NOT NULL,
    type       text    NOT NULL CHECK (type IN ('text', 'number', 'boolean', 'date', 'select', 'multi_select')),
    options    jsonb    NOT NULL,
    sensitive  boolean NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, entity, key)
);

CREATE TABLE jobs (
    org_id           text COLLATE "C"    NOT NULL REFERENCES orgs (org_id),
    id               text COLLATE "C"    NOT NULL,
    title            text    NOT NULL,
    department_id    text COLLATE "C"    NOT NULL,
    location         text    NOT NULL,
    employment_type  text    NOT NULL CHECK (employment_type IN ('full_time', 'part_time', 'contract', 'intern')),
    status           text    NOT NULL CHECK (status IN ('draft', 'open', 'closed', 'archived')),
    confidential     boolean NOT NULL,
    opened_at        timestamptz NOT NULL,
    closed_at        timestamptz,
    headcount        integer NOT NULL CHECK (headcount >= 1),
    custom_fields    jsonb    NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, department_id) REFERENCES departments (org_id, id)
);
CREATE INDEX jobs_department ON jobs (org_id, department_id);

CREATE TABLE stages (
    org_id    text COLLATE "C"    NOT NULL,
    id        text COLLATE "C"    NOT NULL,
    job_id    text COLLATE "C"    NOT NULL,
    name      text    NOT NULL,
    kind      text    NOT NULL CHECK (kind IN ('lead', 'application_review', 'screen', 'assessment', 'interview', 'onsite', 'offer', 'hired')),
    position  integer NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, job_id, position),
    FOREIGN KEY (org_id, job_id) REFERENCES jobs (org_id, id)
);

CREATE TABLE hiring_team (
    org_id    text COLLATE "C"    NOT NULL,
    job_id    text COLLATE "C"    NOT NULL,
    user_id   text COLLATE "C"    NOT NULL,
    role      text    NOT NULL CHECK (role IN ('hiring_manager', 'recruiter', 'coordinator', 'interviewer')),
    position  integer NOT NULL,
    PRIMARY KEY (org_id, job_id, user_id, role),
    FOREIGN KEY (org_id, job_id) REFERENCES jobs (org_id, id),
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id)
);
CREATE INDEX hiring_team_user ON hiring_team (org_id, user_id);

CREATE TABLE candidates (
    org_id         text COLLATE "C"    NOT NULL REFERENCES orgs (org_id),
    id             text COLLATE "C"    NOT NULL,
    name           text    NOT NULL,
    email          text,
    phone          text,
    location       text,
    timezone       text,
    created_at     timestamptz NOT NULL,
    tags           jsonb    NOT NULL,
    custom_fields  jsonb    NOT NULL,
    PRIMARY KEY (org_id, id)
);

-- Demographics live apart from candidates: highly sensitive, never shown at row level.
CREATE TABLE candidate_demographics (
    org_id             text COLLATE "C" NOT NULL,
    candidate_id       text COLLATE "C" NOT NULL,
    gender             text,
    race_ethnicity     text,
    veteran_status     text,
    disability_status  text,
    PRIMARY KEY (org_id, candidate_id),
    FOREIGN KEY (org_id, candidate_id) REFERENCES candidates (org_id, id)
);

CREATE TABLE applications (
    org_id               text COLLATE "C"    NOT NULL,
    id                   text COLLATE "C"    NOT NULL,
    candidate_id         text COLLATE "C"    NOT NULL,
    job_id               text COLLATE "C"    NOT NULL,
    source_id            text COLLATE "C",
    credited_to_user_id  text COLLATE "C",
    applied_at           timestamptz NOT NULL,
    status               text    NOT NULL CHECK (status IN ('active', 'hired', 'archived')),
    current_stage_id     text COLLATE "C"    NOT NULL,
    hired_at             timestamptz,
    archived_at          timestamptz,
    archive_reason       text,
    custom_fields        jsonb    NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, candidate_id) REFERENCES candidates (org_id, id),
    FOREIGN KEY (org_id, job_id) REFERENCES jobs (org_id, id),
    FOREIGN KEY (org_id, source_id) REFERENCES sources (org_id, id),
    FOREIGN KEY (org_id, credited_to_user_id) REFERENCES users (org_id, id),
    FOREIGN KEY (org_id, current_stage_id) REFERENCES stages (org_id, id)
);
CREATE INDEX applications_candidate ON applications (org_id, candidate_id);
CREATE INDEX applications_job ON applications (org_id, job_id, applied_at);

CREATE TABLE stage_transitions (
    org_id          text COLLATE "C"    NOT NULL,
    id              text COLLATE "C"    NOT NULL,
    application_id  text COLLATE "C"    NOT NULL,
    from_stage_id   text COLLATE "C",
    to_stage_id     text COLLATE "C"    NOT NULL,
    at              timestamptz NOT NULL,
    by_user_id      text COLLATE "C",
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, application_id) REFERENCES applications (org_id, id),
    FOREIGN KEY (org_id, from_stage_id) REFERENCES stages (org_id, id),
    FOREIGN KEY (org_id, to_stage_id) REFERENCES stages (org_id, id),
    FOREIGN KEY (org_id, by_user_id) REFERENCES users (org_id, id)
);
CREATE INDEX stage_transitions_application ON stage_transitions (org_id, application_id, at);

CREATE TABLE interviews (
    org_id          text COLLATE "C"    NOT NULL,
    id              text COLLATE "C"    NOT NULL,
    application_id  text COLLATE "C"    NOT NULL,
    stage_id        text COLLATE "C"    NOT NULL,
    title           text    NOT NULL,
    starts_at       timestamptz NOT NULL,
    ends_at         timestamptz NOT NULL,
    status          text    NOT NULL CHECK (status IN ('scheduled', 'completed', 'cancelled', 'no_show')),
    PRIMARY KEY (org_id, id),
    CHECK (ends_at > starts_at),
    FOREIGN KEY (org_id, application_id) REFERENCES applications (org_id, id),
    FOREIGN KEY (org_id, stage_id) REFERENCES stages (org_id, id)
);
CREATE INDEX interviews_application ON interviews (org_id, application_id);

CREATE TABLE interview_participants (
    org_id        text COLLATE "C"    NOT NULL,
    interview_id  text COLLATE "C"    NOT NULL,
    user_id       text COLLATE "C"    NOT NULL,
    role          text    NOT NULL CHECK (role IN ('interviewer', 'shadow', 'reverse_shadow')),
    position      integer NOT NULL,
    PRIMARY KEY (org_id, interview_id, user_id),
    FOREIGN KEY (org_id, interview_id) REFERENCES interviews (org_id, id),
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id)
);
CREATE INDEX interview_participants_user ON interview_participants (org_id, user_id);

CREATE TABLE feedback (
    org_id          text COLLATE "C"    NOT NULL,
    id              text COLLATE "C"    NOT NULL,
    interview_id    text COLLATE "C"    NOT NULL,
    application_id  text COLLATE "C"    NOT NULL,
    author_id       text COLLATE "C"    NOT NULL,
    submitted_at    timestamptz NOT NULL,
    recommendation  text    NOT NULL CHECK (recommendation IN ('strong_no', 'no', 'yes', 'strong_yes')),
    scores          jsonb    NOT NULL,
    notes           text,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, interview_id) REFERENCES interviews (org_id, id),
    FOREIGN KEY (org_id, application_id) REFERENCES applications (org_id, id),
    FOREIGN KEY (org_id, author_id) REFERENCES users (org_id, id)
);
CREATE INDEX feedback_interview ON feedback (org_id, interview_id);
CREATE INDEX feedback_author ON feedback (org_id, author_id);

CREATE TABLE offers (
    org_id           text COLLATE "C"    NOT NULL,
    id               text COLLATE "C"    NOT NULL,
    application_id   text COLLATE "C"    NOT NULL,
    version          integer NOT NULL CHECK (version >= 1),
    created_at       timestamptz NOT NULL,
    status           text    NOT NULL CHECK (status IN ('draft', 'pending_approval', 'approved', 'sent', 'accepted', 'declined', 'rescinded')),
    resolved_at      timestamptz,
    start_date       date,
    salary_amount    double precision,
    salary_currency  text,
    salary_period    text CHECK (salary_period IN ('year', 'hour')),
    bonus            double precision,
    equity           text,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, application_id, version),
    FOREIGN KEY (org_id, application_id) REFERENCES applications (org_id, id)
);

CREATE TABLE interviewer_pools (
    org_id                    text COLLATE "C"    NOT NULL REFERENCES orgs (org_id),
    id                        text COLLATE "C"    NOT NULL,
    name                      text    NOT NULL,
    required_shadows          integer NOT NULL,
    required_reverse_shadows  integer NOT NULL,
    PRIMARY KEY (org_id, id)
);

CREATE TABLE pool_members (
    org_id                     text COLLATE "C"    NOT NULL,
    pool_id                    text COLLATE "C"    NOT NULL,
    user_id                    text COLLATE "C"    NOT NULL,
    status                     text    NOT NULL CHECK (status IN ('qualified', 'trainee')),
    shadows_completed          integer NOT NULL,
    reverse_shadows_completed  integer NOT NULL,
    position                   integer NOT NULL,
    PRIMARY KEY (org_id, pool_id, user_id),
    FOREIGN KEY (org_id, pool_id) REFERENCES interviewer_pools (org_id, id),
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id)
);
CREATE INDEX pool_members_user ON pool_members (org_id, user_id);

-- Busy blocks have no id in the interchange format; `seq` numbers them within the org.
CREATE TABLE busy_blocks (
    org_id     text COLLATE "C"    NOT NULL,
    seq        bigint NOT NULL,
    user_id    text COLLATE "C"    NOT NULL,
    starts_at  timestamptz NOT NULL,
    ends_at    timestamptz NOT NULL,
    PRIMARY KEY (org_id, seq),
    CHECK (ends_at > starts_at),
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id)
);
CREATE INDEX busy_blocks_user ON busy_blocks (org_id, user_id, starts_at);
