-- The web console's sessions (crates/server/src/console). Like `api_tokens` (migration 7), no
-- foreign key to `orgs` or `users`: replacing an org deletes and re-inserts its rows, and a
-- session is checked against its user (exists, active) on every request anyway.
--
-- The cookie holds a random session id (256 bits); the table keeps only its SHA-256 (hex), so
-- a copy of the table signs no one in. `csrf_token` is the token every state-changing request of
-- the session must carry (it proves the request came from a page the server gave the session).
-- `via` says how the session was opened: an API token, a password, or a one-time code.
CREATE TABLE console_sessions (
    id_hash     text COLLATE "C" NOT NULL PRIMARY KEY,
    org_id      text COLLATE "C" NOT NULL,
    user_id     text COLLATE "C" NOT NULL,
    csrf_token  text NOT NULL,
    via         text NOT NULL CHECK (via IN ('token', 'password', 'code')),
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX console_sessions_user ON console_sessions (org_id, user_id);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
