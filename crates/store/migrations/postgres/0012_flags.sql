-- Feature flags of the installation (hireplane's own features behind flags, rolled out org by
-- org): each flag's definition in Unleash's feature JSON (`kind` 'flag', `name` the flag's
-- name) and the segments flags share (`kind` 'segment', `name` the segment's id), with the
-- history of every change: who, when, why, the definition before and after (NULL before: it
-- was created; NULL after: it was removed). `version` numbers the changes of the installation
-- (1, 2, ...); a row of `flags` holds the version of its last change, and the highest version
-- tells a replica whether its copy is current.
--
-- Like `replicas`, these tables belong to no org: they describe the deployment, not an org's
-- data, so they have no `org_id` and are never read or written with an org's rows (on a
-- sharded PostgreSQL they are small local tables). Definitions are kept as the text given, so
-- an export gives back what was set.
CREATE TABLE flags (
    kind        text COLLATE "C" NOT NULL CHECK (kind IN ('flag', 'segment')),
    name        text COLLATE "C" NOT NULL,
    definition  text NOT NULL,
    version     bigint NOT NULL,
    updated_at  timestamptz NOT NULL,
    updated_by  text NOT NULL,
    PRIMARY KEY (kind, name)
);

CREATE TABLE flag_history (
    version     bigint NOT NULL PRIMARY KEY,
    kind        text COLLATE "C" NOT NULL CHECK (kind IN ('flag', 'segment')),
    name        text COLLATE "C" NOT NULL,
    changed_at  timestamptz NOT NULL,
    changed_by  text NOT NULL,
    reason      text NOT NULL,
    before      text,
    after       text
);

CREATE INDEX flag_history_by_name ON flag_history (kind, name, version);
