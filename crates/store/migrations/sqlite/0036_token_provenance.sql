-- What an API token made that outlives a request; see the PostgreSQL migration for the reasons.
ALTER TABLE console_codes ADD COLUMN token_id TEXT;
CREATE INDEX console_codes_token ON console_codes (token_id) WHERE token_id IS NOT NULL;
ALTER TABLE console_passwords ADD COLUMN token_id TEXT;
CREATE INDEX console_passwords_token ON console_passwords (token_id) WHERE token_id IS NOT NULL;
ALTER TABLE automation_rules ADD COLUMN saved_with_token TEXT;
CREATE INDEX automation_rules_token ON automation_rules (saved_with_token)
    WHERE saved_with_token IS NOT NULL;
