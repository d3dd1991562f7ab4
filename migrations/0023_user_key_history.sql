-- Every signing key each account has had, with the stamp of the change that set it (issue 12:
-- past user keys). A change signed with a replaced key still verifies when every change of
-- its segment is stamped before the key was replaced (the next key's stamp): work signed on
-- one device before a password change made on another is not lost. LOCAL: each device keeps
-- it from the `users` changes it writes and takes (hms-policy folds the same on the server).
-- Keys set before this table existed are known from the row as it stands only.
-- Append-only: once landed, never edit this file; add a new migration instead.
CREATE TABLE user_key_history (
    user_id   TEXT NOT NULL,   -- users.id
    stamp     TEXT NOT NULL,   -- the clock stamp of the change that set the key
    user_key  TEXT,            -- the public key (64 hex), or NULL when the change cleared it
    PRIMARY KEY (user_id, stamp)
) STRICT, WITHOUT ROWID;
INSERT INTO user_key_history (user_id, stamp, user_key)
    SELECT id, updated_at, user_key FROM users WHERE user_key IS NOT NULL;
