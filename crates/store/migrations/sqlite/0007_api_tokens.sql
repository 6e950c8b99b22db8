-- API tokens and idempotency keys, for the server; see the PostgreSQL migration for the reasons.
CREATE TABLE api_tokens (
    id           TEXT    NOT NULL PRIMARY KEY,
    org_id       TEXT    NOT NULL,
    user_id      TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    secret_hash  TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    revoked_at   INTEGER
) STRICT;
CREATE INDEX api_tokens_user ON api_tokens (org_id, user_id);

CREATE TABLE idempotency_keys (
    org_id        TEXT    NOT NULL,
    user_id       TEXT    NOT NULL,
    key           TEXT    NOT NULL,
    request_hash  TEXT    NOT NULL,
    response      TEXT,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (org_id, user_id, key)
) STRICT;
