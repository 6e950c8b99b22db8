-- What an API token made that outlives a request, so that revoking the token undoes it (red team,
-- passes 17 and 18: a stolen admin token's holder kept a way in, and a rule mailing candidates'
-- contact details out, past the token's revocation). Each column holds the token's id (the id
-- part of `hpt_<id>_<secret>`; for a console session, the token it was opened with), or null when
-- the operator's CLI or a console session opened without a token made it. `revoke_token`:
-- - deletes the one-time codes made with it and not used yet (`console_codes.token_id`);
-- - deletes the passwords set through its invitations (`console_passwords.token_id`) and closes
--   the sessions opened with them;
-- - disables the automation rules last saved with it (`automation_rules.saved_with_token`), as a
--   new version an admin can read and undo.
-- Rows made before this migration do not know their token and are kept.
ALTER TABLE console_codes ADD COLUMN token_id text COLLATE "C";
CREATE INDEX console_codes_token ON console_codes (token_id) WHERE token_id IS NOT NULL;
ALTER TABLE console_passwords ADD COLUMN token_id text COLLATE "C";
CREATE INDEX console_passwords_token ON console_passwords (token_id) WHERE token_id IS NOT NULL;
ALTER TABLE automation_rules ADD COLUMN saved_with_token text COLLATE "C";
CREATE INDEX automation_rules_token ON automation_rules (saved_with_token)
    WHERE saved_with_token IS NOT NULL;
