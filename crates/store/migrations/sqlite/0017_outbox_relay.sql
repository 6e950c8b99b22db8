-- The relay's cursor per org; see the PostgreSQL migration of the same number.
CREATE TABLE outbox_relay (
    org_id         TEXT    NOT NULL PRIMARY KEY,
    published_seq  INTEGER NOT NULL CHECK (published_seq >= 0)
) STRICT;

-- When the event's transaction was about to commit (microseconds); see the PostgreSQL migration.
ALTER TABLE outbox ADD COLUMN committed_at INTEGER;

-- The relay finds what to publish by the cursor above and reads it by the primary key: the
-- partial index of unpublished events (migration 15) is not read by anything, and every event
-- paid for it.
DROP INDEX outbox_unpublished;
