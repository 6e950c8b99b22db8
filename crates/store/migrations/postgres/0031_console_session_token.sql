-- A console session opened with an API token remembers the token (`token_id`, the id part of
-- `hpt_<id>_<secret>`), so that revoking the token ends the session too: `app` checks the token on
-- every request of such a session, and `revoke_token` deletes its sessions. Sessions opened with
-- a token before this migration do not know theirs, so they are closed (their users sign in again).
ALTER TABLE console_sessions ADD COLUMN token_id text COLLATE "C";
DELETE FROM console_sessions WHERE via = 'token';
CREATE INDEX console_sessions_token ON console_sessions (token_id) WHERE token_id IS NOT NULL;
