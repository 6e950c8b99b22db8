-- API tokens and idempotency keys, for the server. Neither is part of the interchange format, and
-- neither has a foreign key to `orgs` or `users`, for the reason migration 4 gives: replacing an
-- org deletes and re-inserts its rows, and a token must survive that (the server checks, per
-- request, that the token's user still exists and is active).

-- A token is `hpt_<id>_<secret>`: the id finds the row, the secret is checked against its hash
-- (SHA-256, hex; the secret is 256 random bits, so a fast hash is enough). The secret itself is
-- never stored and is shown once, when the token is created.
CREATE TABLE api_tokens (
    id           text COLLATE "C" NOT NULL PRIMARY KEY,
    org_id       text COLLATE "C" NOT NULL,
    user_id      text COLLATE "C" NOT NULL,
    name         text NOT NULL,
    secret_hash  text NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_tokens_user ON api_tokens (org_id, user_id);

-- One row per `Idempotency-Key` a user sent with a mutation: the hash of the request it came with
-- and, once the mutation finished, the response to replay. `response IS NULL` while the first
-- request with the key is running.
CREATE TABLE idempotency_keys (
    org_id        text COLLATE "C" NOT NULL,
    user_id       text COLLATE "C" NOT NULL,
    key           text NOT NULL,
    request_hash  text NOT NULL,
    response      text,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (org_id, user_id, key)
);
