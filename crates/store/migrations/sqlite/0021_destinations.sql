-- Each server replica's view of each external destination; see the PostgreSQL migration of the
-- same number. Times are microseconds since the epoch, the replica's own clock.
CREATE TABLE destination_status (
    replica_id       TEXT    NOT NULL,
    destination      TEXT    NOT NULL,
    state            TEXT    NOT NULL CHECK (state IN ('closed', 'half_open', 'open')),
    failure_rate     REAL    CHECK (failure_rate >= 0 AND failure_rate <= 1),
    window_calls     INTEGER NOT NULL CHECK (window_calls >= 0),
    window_failures  INTEGER NOT NULL CHECK (window_failures >= 0),
    in_flight        INTEGER NOT NULL CHECK (in_flight >= 0),
    attempts         INTEGER NOT NULL CHECK (attempts >= 0),
    failures         INTEGER NOT NULL CHECK (failures >= 0),
    rejected         INTEGER NOT NULL CHECK (rejected >= 0),
    retry_in_ms      INTEGER CHECK (retry_in_ms >= 0),
    last_error       TEXT,
    last_error_at    INTEGER,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (replica_id, destination),
    CHECK (window_failures <= window_calls)
) STRICT;
