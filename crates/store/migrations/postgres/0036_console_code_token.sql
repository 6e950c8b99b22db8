-- The API token a one-time code was made with (`token_id`, the id part of `hpt_<id>_<secret>`;
-- null when the operator's CLI or a console session opened without a token made it), so that
-- revoking the token cancels the links its holder made and has not used yet: an admin token's
-- holder cannot keep an invitation, and with it a way in, past the token's revocation (red team,
-- pass 17). Codes made before this migration do not know their token and are kept.
ALTER TABLE console_codes ADD COLUMN token_id text COLLATE "C";
CREATE INDEX console_codes_token ON console_codes (token_id) WHERE token_id IS NOT NULL;
