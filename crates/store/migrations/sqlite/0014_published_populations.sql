-- Populations published by reports over demographics (docs/privacy.md, "Populations published
-- before"): per group a report published, the sketch of its candidates without demographics
-- (`query_compiler::demographics::Population`: per bucket of a record key, how many and the sum
-- of another record key) and their number. A later group whose population is 1 to 4 people
-- apart from one of these is withheld, whoever runs it and whenever: the two would give those
-- people's answers away. Kept without end (what was published stays known); one row per
-- distinct population. Like `demographic_runs`, no foreign key to `orgs`.
CREATE TABLE published_populations (
    org_id       TEXT    NOT NULL,
    total        INTEGER NOT NULL,
    sketch       TEXT    NOT NULL,
    first_at     INTEGER NOT NULL,
    report_hash  TEXT    NOT NULL
) STRICT;
CREATE INDEX published_populations_total ON published_populations (org_id, total);
