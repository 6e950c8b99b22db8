-- Feature flags of the installation; see the PostgreSQL migration of the same number.
-- Times are microseconds since the epoch, the caller's clock.
CREATE TABLE flags (
    kind        TEXT    NOT NULL CHECK (kind IN ('flag', 'segment')),
    name        TEXT    NOT NULL,
    definition  TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    updated_by  TEXT    NOT NULL,
    PRIMARY KEY (kind, name)
) STRICT;

CREATE TABLE flag_history (
    version     INTEGER NOT NULL PRIMARY KEY,
    kind        TEXT    NOT NULL CHECK (kind IN ('flag', 'segment')),
    name        TEXT    NOT NULL,
    changed_at  INTEGER NOT NULL,
    changed_by  TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    before      TEXT,
    after       TEXT
) STRICT;

CREATE INDEX flag_history_by_name ON flag_history (kind, name, version);
