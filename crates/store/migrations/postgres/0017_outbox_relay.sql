-- The relay's cursor per org (crates/store/src/relay.rs): the last `seq` of the org's events that
-- a relay has published (to NATS JetStream). A relay finds the orgs with events to publish by
-- comparing it with `outbox_heads.last_seq`, without scanning the outbox, and publishes the
-- events between them in `seq` order. Kept apart from `outbox_heads`, whose row a writer holds
-- locked until it commits: the relay never waits for a writer, nor a writer for the relay.
CREATE TABLE outbox_relay (
    org_id         text COLLATE "C" NOT NULL PRIMARY KEY,
    published_seq  bigint NOT NULL CHECK (published_seq >= 0)
);

-- When the event's transaction was about to commit (the wall clock at its insert, the last
-- statement before COMMIT), unlike `time`, when the command started: the relay measures the
-- time from commit to JetStream's ack from it. NULL for events written before this migration.
ALTER TABLE outbox ADD COLUMN committed_at timestamptz;

-- The relay finds what to publish by the cursor above and reads it by the primary key: the
-- partial index of unpublished events (migration 15) is not read by anything, and every event
-- paid for it.
DROP INDEX outbox_unpublished;
