-- Gradual rollouts of the installation's flags; see the PostgreSQL migration of the same
-- number. Times are microseconds since the epoch, the caller's clock.
CREATE TABLE rollout_plans (
    flag             TEXT    NOT NULL PRIMARY KEY,
    plan             TEXT    NOT NULL,
    phase            TEXT    NOT NULL CHECK (phase IN ('running', 'paused', 'halted', 'completed', 'aborted')),
    step             INTEGER NOT NULL,
    revision         INTEGER NOT NULL,
    step_started_at  INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    updated_by       TEXT    NOT NULL
) STRICT;

CREATE TABLE rollout_history (
    id        INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    flag      TEXT    NOT NULL,
    at        INTEGER NOT NULL,
    by        TEXT    NOT NULL,
    action    TEXT    NOT NULL,
    reason    TEXT    NOT NULL,
    phase     TEXT    NOT NULL,
    step      INTEGER NOT NULL,
    percent   INTEGER NOT NULL,
    figures   TEXT
) STRICT;

CREATE INDEX rollout_history_by_flag ON rollout_history (flag, id);

CREATE TABLE rollout_figures (
    flag              TEXT    NOT NULL,
    revision          INTEGER NOT NULL,
    replica           TEXT    NOT NULL,
    cohort            TEXT    NOT NULL CHECK (cohort IN ('on', 'off')),
    requests          INTEGER NOT NULL,
    errors            INTEGER NOT NULL,
    latency_requests  INTEGER NOT NULL,
    slow              INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    PRIMARY KEY (flag, revision, replica, cohort)
) STRICT;

CREATE TABLE leases (
    name         TEXT    NOT NULL PRIMARY KEY,
    holder       TEXT    NOT NULL,
    expires_at   INTEGER NOT NULL
) STRICT;
