-- What reports over demographics need besides the org's data; see the PostgreSQL migration of
-- the same number. Times are microseconds since the epoch.
CREATE TABLE org_privacy (
    org_id          TEXT    NOT NULL PRIMARY KEY,
    secret          BLOB    NOT NULL CHECK (length(secret) >= 16),
    secret_set_at   INTEGER NOT NULL,
    threshold       INTEGER NOT NULL DEFAULT 5 CHECK (threshold >= 1),
    noise           TEXT    NOT NULL DEFAULT '1,6,24,38,24,6,1',
    daily_budget    INTEGER NOT NULL DEFAULT 50 CHECK (daily_budget >= 0)
) STRICT;

CREATE TABLE demographic_runs (
    org_id       TEXT    NOT NULL,
    user_id      TEXT    NOT NULL,
    at           INTEGER NOT NULL,
    report_hash  TEXT    NOT NULL,
    shape_hash   TEXT    NOT NULL,
    population   INTEGER NOT NULL
) STRICT;
CREATE INDEX demographic_runs_user ON demographic_runs (org_id, user_id, at);
