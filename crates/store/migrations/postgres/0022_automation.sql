-- Automation rules (docs/automation.md): "when EVENT [if CONDITION] then ACTIONS [after DELAY]".
-- Like the archive reasons, an org's rules are its configuration, outside the interchange
-- format, and survive an org's replacement: no foreign key to `orgs` (the store checks the org
-- in the transaction that writes).
--
-- `automation_rules`: each rule as it is now (`definition`: the JSON document crate `workflow`
-- reads; `event_type` and `enabled` copied out of it for the dispatcher; `owner_user_id` the
-- user it runs as; `since_seq` the org's outbox head when this version was saved: it applies to
-- events after it). `version` grows with every change; a deleted rule keeps its row (deleted =
-- TRUE), so its versions and runs keep their meaning.
CREATE TABLE automation_rules (
    org_id         text COLLATE "C" NOT NULL,
    id             text COLLATE "C" NOT NULL,
    version        bigint NOT NULL CHECK (version >= 1),
    name           text NOT NULL,
    event_type     text NOT NULL,
    enabled        boolean NOT NULL,
    deleted        boolean NOT NULL DEFAULT FALSE,
    owner_user_id  text COLLATE "C" NOT NULL,
    definition     text NOT NULL,
    since_seq      bigint NOT NULL,
    updated_at     timestamptz NOT NULL,
    updated_by     text NOT NULL,
    PRIMARY KEY (org_id, id)
);

-- Every version of every rule: who changed it, when, why, and the definition then.
CREATE TABLE automation_rule_versions (
    org_id         text COLLATE "C" NOT NULL,
    rule_id        text COLLATE "C" NOT NULL,
    version        bigint NOT NULL,
    enabled        boolean NOT NULL,
    deleted        boolean NOT NULL,
    owner_user_id  text COLLATE "C" NOT NULL,
    definition     text NOT NULL,
    changed_at     timestamptz NOT NULL,
    changed_by     text NOT NULL,
    reason         text NOT NULL,
    PRIMARY KEY (org_id, rule_id, version)
);

-- Each org's dispatch cursor: the last outbox `seq` whose rules were looked at. Set to the
-- org's head when its first rule is saved (a new rule does not fire for the past).
CREATE TABLE automation_cursors (
    org_id      text COLLATE "C" NOT NULL PRIMARY KEY,
    seq         bigint NOT NULL,
    updated_at  timestamptz NOT NULL
);

-- What each rule did with each event that triggered it: fired (its actions queued), or
-- skipped and why (condition false, subject hidden from the owner, owner inactive, ...).
CREATE TABLE automation_runs (
    org_id        text COLLATE "C" NOT NULL,
    rule_id       text COLLATE "C" NOT NULL,
    event_id      text COLLATE "C" NOT NULL,
    rule_version  bigint NOT NULL,
    seq           bigint NOT NULL,
    subject       text NOT NULL,
    outcome       text NOT NULL CHECK (outcome IN ('fired', 'skipped', 'failed')),
    detail        text NOT NULL,
    at            timestamptz NOT NULL,
    PRIMARY KEY (org_id, rule_id, event_id)
);

CREATE INDEX automation_runs_by_time ON automation_runs (org_id, at);

-- How many automated steps led to an event: NULL for a change a person (or a client) made, N
-- for a change an automation rule's action made because of an event of depth N - 1. Rules stop
-- a chain at `app::automation::MAX_CHAIN` (rules that trigger each other end there).
ALTER TABLE outbox ADD COLUMN automation_depth bigint;
