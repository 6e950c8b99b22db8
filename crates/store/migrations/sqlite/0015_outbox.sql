-- The transactional outbox of domain events; see the PostgreSQL migration of the same number.
-- SQLite has one writer at a time (`BEGIN IMMEDIATE`), so `seq` is in commit order.
CREATE TABLE outbox_heads (
    org_id    TEXT    NOT NULL PRIMARY KEY,
    last_seq  INTEGER NOT NULL CHECK (last_seq >= 1)
) STRICT;

CREATE TABLE outbox (
    org_id        TEXT    NOT NULL,
    seq           INTEGER NOT NULL CHECK (seq >= 1),
    id            TEXT    NOT NULL,
    type          TEXT    NOT NULL,
    subject       TEXT    NOT NULL,
    time          INTEGER NOT NULL,
    data          TEXT    NOT NULL,
    published_at  INTEGER,
    PRIMARY KEY (org_id, seq)
) STRICT;

CREATE UNIQUE INDEX outbox_id ON outbox (org_id, id);
CREATE INDEX outbox_unpublished ON outbox (org_id, seq) WHERE published_at IS NULL;
