-- Org policies and the audit log, for the policy engine. Neither is part of the interchange
-- format: import and export do not touch them, and replacing an org (`import --replace`, which
-- deletes the org's rows, the `orgs` row included, and inserts the new ones in one transaction)
-- keeps both, since the org id stays.
--
-- No foreign key to `orgs`: replacement deletes and re-inserts the `orgs` row, and the log must
-- outlive that (and any later removal of an org: an audit trail is kept for its own sake). A key
-- would also couple the log to a running replacement: an audit write would wait on the deleted
-- `orgs` row until the import commits and then fail its key check. The store checks that the org
-- exists in the transaction that writes, and that is the only way in. Writers of one org are
-- serialised by a transaction-level advisory lock (see store::audit), not by the `orgs` row.

-- The Cedar policy text an org set in place of the shipped policies, every version kept; the
-- current one is the highest version. The store keeps the text; the caller has validated it.
CREATE TABLE org_policies (
    org_id   text COLLATE "C" NOT NULL,
    version  bigint NOT NULL CHECK (version >= 1),
    text     text   NOT NULL,
    set_at   timestamptz NOT NULL,
    set_by   text,
    PRIMARY KEY (org_id, version)
);

-- Every access to restricted data and every denied request, append-only (the store has no
-- method that updates or deletes a row). `seq` counts per org from 1, in the order of recording.
-- `detail` names what was accessed (e.g. field groups), never values; `query_hash` identifies a
-- report query.
--
-- `policies` (the ids of the policies that decided) is jsonb, not text: PostgreSQL checks it is an
-- array on write, and "which decisions did policy X take" is `policies ? 'X'`, which a GIN index
-- can serve if auditors need it. jsonb keeps an array's order and duplicates (it only normalises
-- object keys), so the list reads back exactly as written, as it does from SQLite's text.
CREATE TABLE audit_log (
    org_id      text COLLATE "C" NOT NULL,
    seq         bigint NOT NULL CHECK (seq >= 1),
    at          timestamptz NOT NULL,
    actor       text NOT NULL,
    action      text NOT NULL,
    subject     text NOT NULL,
    outcome     text NOT NULL CONSTRAINT audit_log_outcome CHECK (outcome IN ('allowed', 'denied')),
    policies    jsonb NOT NULL CHECK (jsonb_typeof(policies) = 'array'),
    query_hash  text,
    detail      text,
    PRIMARY KEY (org_id, seq)
);
-- The primary key serves the log newest first; this serves one actor's entries.
CREATE INDEX audit_log_actor ON audit_log (org_id, actor, seq);
