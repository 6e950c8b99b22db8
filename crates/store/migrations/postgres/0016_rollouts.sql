-- Gradual rollouts of the installation's flags (docs/flags.md, "Rollouts"). Like `flags`, these
-- tables belong to no org: they describe the deployment.
--
-- `rollout_plans`: one plan per flag. `plan` is the plan's JSON as crate `flags` reads it
-- (steps, hold, guard); `phase`, `step` and `step_started_at` its state; `revision` numbers
-- the plan's windows: it grows at every change of step or phase, and the cohort figures of
-- `rollout_figures` are kept per revision, so that each step is judged on its own requests.
CREATE TABLE rollout_plans (
    flag             text COLLATE "C" NOT NULL PRIMARY KEY,
    plan             text NOT NULL,
    phase            text NOT NULL CHECK (phase IN ('running', 'paused', 'halted', 'completed', 'aborted')),
    step             integer NOT NULL,
    revision         bigint NOT NULL,
    step_started_at  timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    updated_by       text NOT NULL
);

-- Every change of a plan: set by an operator, paused, resumed, aborted, and each automatic
-- advance, completion and halt with the cohort figures (JSON) that caused it.
CREATE TABLE rollout_history (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    flag      text COLLATE "C" NOT NULL,
    at        timestamptz NOT NULL,
    by        text NOT NULL,
    action    text NOT NULL,
    reason    text NOT NULL,
    phase     text NOT NULL,
    step      integer NOT NULL,
    percent   integer NOT NULL,
    figures   text
);

CREATE INDEX rollout_history_by_flag ON rollout_history (flag, id);

-- Each replica's counters of one plan revision, per cohort ('on': the flag was on for the
-- request, 'off': the control), upserted with the replica's running totals; the replica that
-- drives the plan sums them over the replicas.
CREATE TABLE rollout_figures (
    flag              text COLLATE "C" NOT NULL,
    revision          bigint NOT NULL,
    replica           text COLLATE "C" NOT NULL,
    cohort            text NOT NULL CHECK (cohort IN ('on', 'off')),
    requests          bigint NOT NULL,
    errors            bigint NOT NULL,
    latency_requests  bigint NOT NULL,
    slow              bigint NOT NULL,
    updated_at        timestamptz NOT NULL,
    PRIMARY KEY (flag, revision, replica, cohort)
);

-- Leases: who drives the rollouts (one replica at a time), until when. A row per lease name;
-- taken by an upsert that succeeds only when the lease is free, expired or already the
-- taker's (works alike on both stores; no session has to stay open as an advisory lock would).
CREATE TABLE leases (
    name         text COLLATE "C" NOT NULL PRIMARY KEY,
    holder       text NOT NULL,
    expires_at   timestamptz NOT NULL
);
