-- Each org's import generation (crates/store/src/warehouse.rs): every import of the org, a new
-- one or a `--replace`, sets it to the previous generation + 1 in the import's transaction.
-- Replacing an org writes no events, so a warehouse delta, which follows the events, would not
-- see it: the warehouse export records the generation it read and refuses a delta across an
-- import. Orgs imported before this migration have no row (generation 0). Outside the
-- interchange format and, like the outbox, kept across a replacement (no foreign key to `orgs`).
CREATE TABLE org_generations (
    org_id      TEXT    NOT NULL PRIMARY KEY,
    generation  INTEGER NOT NULL CHECK (generation >= 1)
) STRICT;
