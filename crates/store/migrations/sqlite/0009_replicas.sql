-- The server replicas serving this database; see the PostgreSQL migration of the same number.
-- Times are microseconds since the epoch, the replica's own clock.
CREATE TABLE replicas (
    replica_id    TEXT    NOT NULL PRIMARY KEY,
    heartbeat_at  INTEGER NOT NULL,
    started_at    INTEGER NOT NULL
) STRICT;
