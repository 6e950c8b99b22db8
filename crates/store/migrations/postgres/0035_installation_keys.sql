-- Secrets of the installation as a whole, shared by every replica of one database (the first
-- that needs one writes it; the others read it): today the key that signs the console's device
-- cookies, so that a browser trusted by one replica is trusted by all and after a restart.
CREATE TABLE installation_keys (
    name text COLLATE "C" NOT NULL PRIMARY KEY,
    key  text NOT NULL
);
