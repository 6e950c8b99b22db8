-- The console's passwords and one-time codes; see the PostgreSQL migration for the reasons.
CREATE TABLE console_passwords (
    login       TEXT    NOT NULL PRIMARY KEY,
    org_id      TEXT    NOT NULL,
    user_id     TEXT    NOT NULL,
    phc         TEXT    NOT NULL,
    set_at      INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX console_passwords_user ON console_passwords (org_id, user_id);

CREATE TABLE console_codes (
    code_hash   TEXT    NOT NULL PRIMARY KEY,
    org_id      TEXT    NOT NULL,
    user_id     TEXT    NOT NULL,
    purpose     TEXT    NOT NULL CHECK (purpose IN ('sign_in', 'invitation')),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX console_codes_user ON console_codes (org_id, user_id);
