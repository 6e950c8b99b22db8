-- The server replicas serving this database, for limits that hold for the whole cluster (the
-- per-token rate limit is split between the live replicas). Each replica upserts its row on every
-- heartbeat, counts the rows whose heartbeat is recent, forgets the long-dead ones, and deletes its
-- row when it stops gracefully. `heartbeat_at` and `started_at` are the replica's own clock.
--
-- The one table that belongs to no org: it describes the deployment, not an org's data, so it has
-- no `org_id` and is never read or written with an org's rows (on a sharded PostgreSQL it is a
-- small local table, not a distributed one).
CREATE TABLE replicas (
    replica_id    text COLLATE "C" NOT NULL PRIMARY KEY,
    heartbeat_at  timestamptz NOT NULL,
    started_at    timestamptz NOT NULL
);
