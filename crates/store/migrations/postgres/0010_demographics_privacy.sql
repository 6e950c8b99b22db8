-- What reports over demographics need besides the org's data (docs/privacy.md).
--
-- `org_privacy`: one row per org, created on the org's first report over demographics. `secret`
-- (random, at least 16 bytes) keys the perturbation of every published count: a cell's noise is
-- derived from the sums of its candidates' record keys through this secret, so nobody without
-- it can predict or remove the noise. Rotating it (`secret_set_at`) draws new noise for every
-- cell, which is itself a chance to average: only when it may have leaked. `threshold`: counts
-- under it after perturbation are suppressed. `noise`: the perturbation table's weights for the
-- offsets -d..d, symmetric. `daily_budget`: reports over demographics per user per day.
--
-- `demographic_runs`: every report over demographics run, by whom and when, the report's hash,
-- the hash of its shape (the report with its literals blanked, to find bursts of near-identical
-- runs) and the population it counted; the daily budget counts these rows. Like the audit log,
-- no foreign key to `orgs` (an org replacement deletes and re-inserts that row, and both must
-- survive it); the store checks the org in the transaction that writes.
CREATE TABLE org_privacy (
    org_id          text COLLATE "C" NOT NULL PRIMARY KEY,
    secret          bytea NOT NULL CHECK (length(secret) >= 16),
    secret_set_at   timestamptz NOT NULL,
    threshold       integer NOT NULL DEFAULT 5 CHECK (threshold >= 1),
    noise           text NOT NULL DEFAULT '1,6,24,38,24,6,1',
    daily_budget    integer NOT NULL DEFAULT 50 CHECK (daily_budget >= 0)
);

CREATE TABLE demographic_runs (
    org_id       text COLLATE "C" NOT NULL,
    user_id      text COLLATE "C" NOT NULL,
    at           timestamptz NOT NULL,
    report_hash  text NOT NULL,
    shape_hash   text NOT NULL,
    population   bigint NOT NULL
);
CREATE INDEX demographic_runs_user ON demographic_runs (org_id, user_id, at);
