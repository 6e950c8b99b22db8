-- Org policies and the audit log, for the policy engine. Neither is part of the interchange
-- format: import and export do not touch them, and replacing an org (`import --replace`, which
-- deletes the org's rows, the `orgs` row included, and inserts the new ones in one transaction)
-- keeps both, since the org id stays.
--
-- No foreign key to `orgs`: replacement deletes and re-inserts the `orgs` row, and the log must
-- outlive that (and any later removal of an org: an audit trail is kept for its own sake). The
-- store checks that the org exists in the transaction that writes, and that is the only way in.

-- The Cedar policy text an org set in place of the shipped policies, every version kept; the
-- current one is the highest version. The store keeps the text; the caller has validated it.
CREATE TABLE org_policies (
    org_id   TEXT    NOT NULL,
    version  INTEGER NOT NULL CHECK (version >= 1),
    text     TEXT    NOT NULL,
    set_at   INTEGER NOT NULL,
    set_by   TEXT,
    PRIMARY KEY (org_id, version)
) STRICT;

-- Every access to restricted data and every denied request, append-only (the store has no
-- method that updates or deletes a row). `seq` counts per org from 1, in the order of recording.
-- `policies` is a JSON array of the ids of the policies that decided; `detail` names what was
-- accessed (e.g. field groups), never values; `query_hash` identifies a report query.
CREATE TABLE audit_log (
    org_id      TEXT    NOT NULL,
    seq         INTEGER NOT NULL CHECK (seq >= 1),
    at          INTEGER NOT NULL,
    actor       TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    outcome     TEXT    NOT NULL CHECK (outcome IN ('allowed', 'denied')),
    policies    TEXT    NOT NULL CHECK (json_valid(policies) AND json_type(policies) = 'array'),
    query_hash  TEXT,
    detail      TEXT,
    PRIMARY KEY (org_id, seq)
) STRICT;
-- The primary key serves the log newest first; this serves one actor's entries.
CREATE INDEX audit_log_actor ON audit_log (org_id, actor, seq);
