-- Each server replica's view of each external destination its effects call (webhook receivers,
-- the SMTP relay, CalDAV servers; named `scheme://host:port`, no path, query or credentials), for
-- `hireplane workflow status`: the circuit breaker's state, the failure rate of its window, the
-- replica's counts since it started, and the last error. A replica upserts its rows when a breaker
-- changes state and every few seconds otherwise; rows not written for a long time (a replica that
-- died) are deleted by the next write of any replica. Times are the replica's own clock.
--
-- Like `replicas`, it belongs to no org: it describes the deployment's outside connections, not an
-- org's data (a small local table on a sharded PostgreSQL).
CREATE TABLE destination_status (
    replica_id       text COLLATE "C" NOT NULL,
    destination      text COLLATE "C" NOT NULL,
    state            text NOT NULL CHECK (state IN ('closed', 'half_open', 'open')),
    failure_rate     double precision CHECK (failure_rate >= 0 AND failure_rate <= 1),
    window_calls     bigint NOT NULL CHECK (window_calls >= 0),
    window_failures  bigint NOT NULL CHECK (window_failures >= 0),
    in_flight        bigint NOT NULL CHECK (in_flight >= 0),
    attempts         bigint NOT NULL CHECK (attempts >= 0),
    failures         bigint NOT NULL CHECK (failures >= 0),
    rejected         bigint NOT NULL CHECK (rejected >= 0),
    retry_in_ms      bigint CHECK (retry_in_ms >= 0),
    last_error       text,
    last_error_at    timestamptz,
    updated_at       timestamptz NOT NULL,
    PRIMARY KEY (replica_id, destination),
    CHECK (window_failures <= window_calls)
);
