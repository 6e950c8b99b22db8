-- The relay's cursor per org; see the PostgreSQL migration of the same number.
CREATE TABLE outbox_relay (
    org_id         TEXT    NOT NULL PRIMARY KEY,
    published_seq  INTEGER NOT NULL CHECK (published_seq >= 0)
) STRICT;
