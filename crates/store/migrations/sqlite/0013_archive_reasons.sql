-- Each org's list of archive reasons; see the PostgreSQL migration of the same number.
CREATE TABLE archive_reasons (
    org_id    TEXT    NOT NULL,
    position  INTEGER NOT NULL CHECK (position >= 1),
    reason    TEXT    NOT NULL CHECK (length(trim(reason)) > 0),
    PRIMARY KEY (org_id, position)
) STRICT;
