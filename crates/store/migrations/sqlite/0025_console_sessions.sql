-- The web console's sessions; see the PostgreSQL migration for the reasons.
CREATE TABLE console_sessions (
    id_hash     TEXT    NOT NULL PRIMARY KEY,
    org_id      TEXT    NOT NULL,
    user_id     TEXT    NOT NULL,
    csrf_token  TEXT    NOT NULL,
    via         TEXT    NOT NULL CHECK (via IN ('token', 'password', 'code')),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX console_sessions_user ON console_sessions (org_id, user_id);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
