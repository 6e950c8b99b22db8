-- The console's passwords and one-time codes (crates/app/src/sessions.rs). No foreign keys, as
-- for `console_sessions` (migration 25).
--
-- `console_passwords`: the users who chose a password through an invitation. `login` is the
-- user's email folded to lower case when the password was set: the name one signs in with, so
-- it is unique across the installation (a person invited by two orgs signs in to the first;
-- the second invitation is refused). `phc` is the Argon2id hash in PHC string form (algorithm,
-- parameters, salt, hash): the password itself is never stored.
CREATE TABLE console_passwords (
    login       text COLLATE "C" NOT NULL PRIMARY KEY,
    org_id      text COLLATE "C" NOT NULL,
    user_id     text COLLATE "C" NOT NULL,
    phc         text NOT NULL,
    set_at      timestamptz NOT NULL
);
CREATE UNIQUE INDEX console_passwords_user ON console_passwords (org_id, user_id);

-- One-time codes: `sign_in` (a link that opens a session once, e.g. `serve --demo`'s per role)
-- and `invitation` (a link to choose a password). Only the SHA-256 of the code is kept; a code
-- is deleted when used, and is worthless after `expires_at`.
CREATE TABLE console_codes (
    code_hash   text COLLATE "C" NOT NULL PRIMARY KEY,
    org_id      text COLLATE "C" NOT NULL,
    user_id     text COLLATE "C" NOT NULL,
    purpose     text NOT NULL CHECK (purpose IN ('sign_in', 'invitation')),
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX console_codes_user ON console_codes (org_id, user_id);
