-- The token a console session was opened with; see the PostgreSQL migration for the reasons.
ALTER TABLE console_sessions ADD COLUMN token_id TEXT;
DELETE FROM console_sessions WHERE via = 'token';
CREATE INDEX console_sessions_token ON console_sessions (token_id) WHERE token_id IS NOT NULL;
