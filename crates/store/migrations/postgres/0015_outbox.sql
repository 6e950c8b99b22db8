-- The transactional outbox of domain events (crates/store/src/events.rs, docs/events.md). Every
-- write path of the hiring workflow inserts its events here in the transaction of its change,
-- as its last statements; a relay (later) publishes them and sets `published_at`.
--
-- `seq` numbers each org's events 1, 2, ... in commit order: a write takes the next number from
-- its org's row of `outbox_heads` by an upsert, which keeps that row locked until commit, so a
-- concurrent writer of the same org takes its number only after the first committed and a
-- reader paging by `seq` never skips an event that commits later. The head, not max(seq),
-- keeps numbers from being reused after published events are deleted.
--
-- Like the audit log, events are the org's history, outside the interchange format, and
-- survive an org's replacement: no foreign key to `orgs` (the writer checks the org in its
-- transaction).
CREATE TABLE outbox_heads (
    org_id    text COLLATE "C" NOT NULL PRIMARY KEY,
    last_seq  bigint NOT NULL CHECK (last_seq >= 1)
);

CREATE TABLE outbox (
    org_id        text COLLATE "C" NOT NULL,
    seq           bigint NOT NULL CHECK (seq >= 1),
    id            text COLLATE "C" NOT NULL,
    type          text COLLATE "C" NOT NULL,
    subject       text COLLATE "C" NOT NULL,
    time          timestamptz NOT NULL,
    data          jsonb NOT NULL,
    published_at  timestamptz,
    PRIMARY KEY (org_id, seq)
);

-- Event ids are unique; a relay and consumers de-duplicate by them.
CREATE UNIQUE INDEX outbox_id ON outbox (org_id, id);
-- What a relay has still to publish, in order.
CREATE INDEX outbox_unpublished ON outbox (org_id, seq) WHERE published_at IS NULL;
