-- Automation rules; see the PostgreSQL migration of the same number. Times are microseconds
-- since the epoch, the caller's clock.
CREATE TABLE automation_rules (
    org_id         TEXT    NOT NULL,
    id             TEXT    NOT NULL,
    version        INTEGER NOT NULL CHECK (version >= 1),
    name           TEXT    NOT NULL,
    event_type     TEXT    NOT NULL,
    enabled        INTEGER NOT NULL,
    deleted        INTEGER NOT NULL DEFAULT 0,
    owner_user_id  TEXT    NOT NULL,
    definition     TEXT    NOT NULL,
    since_seq      INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    updated_by     TEXT    NOT NULL,
    PRIMARY KEY (org_id, id)
) STRICT;

CREATE TABLE automation_rule_versions (
    org_id         TEXT    NOT NULL,
    rule_id        TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    enabled        INTEGER NOT NULL,
    deleted        INTEGER NOT NULL,
    owner_user_id  TEXT    NOT NULL,
    definition     TEXT    NOT NULL,
    changed_at     INTEGER NOT NULL,
    changed_by     TEXT    NOT NULL,
    reason         TEXT    NOT NULL,
    PRIMARY KEY (org_id, rule_id, version)
) STRICT;

CREATE TABLE automation_cursors (
    org_id      TEXT    NOT NULL PRIMARY KEY,
    seq         INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE automation_runs (
    org_id        TEXT    NOT NULL,
    rule_id       TEXT    NOT NULL,
    event_id      TEXT    NOT NULL,
    rule_version  INTEGER NOT NULL,
    seq           INTEGER NOT NULL,
    subject       TEXT    NOT NULL,
    outcome       TEXT    NOT NULL CHECK (outcome IN ('fired', 'skipped', 'failed')),
    detail        TEXT    NOT NULL,
    at            INTEGER NOT NULL,
    PRIMARY KEY (org_id, rule_id, event_id)
) STRICT;

CREATE INDEX automation_runs_by_time ON automation_runs (org_id, at);

-- How many automated steps led to an event: NULL for a change a person (or a client) made, N
-- for a change an automation rule's action made because of an event of depth N - 1. Rules stop
-- a chain at `app::automation::MAX_CHAIN` (rules that trigger each other end there).
ALTER TABLE outbox ADD COLUMN automation_depth INTEGER;
