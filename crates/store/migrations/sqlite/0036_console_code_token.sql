-- The API token a one-time code was made with; see the PostgreSQL migration for the reasons.
ALTER TABLE console_codes ADD COLUMN token_id TEXT;
CREATE INDEX console_codes_token ON console_codes (token_id) WHERE token_id IS NOT NULL;
