-- The relay's cursor per org; see the PostgreSQL migration of the same number.
CREATE TABLE outbox_relay (
    org_id         TEXT    NOT NULL PRIMARY KEY,
    published_seq  INTEGER NOT NULL CHECK (published_seq >= 0)
) STRICT;

-- When the event's transaction was about to commit (microseconds); see the PostgreSQL migration.
ALTER TABLE outbox ADD COLUMN committed_at INTEGER;
