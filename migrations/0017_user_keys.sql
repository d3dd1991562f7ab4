-- Per-user signing keys (issue 12): every segment of a signed-in user's changes is signed by
-- the user's Ed25519 key as well as the device's. The key is derived from the password with
-- Argon2id and `key_salt` (16 random bytes, hex; not the password hash's salt) at sign-in and
-- held only in memory; `user_key` is its public half (64 hex digits), synced with the account
-- so that the server and every device check the signatures. Accounts from before this
-- migration have neither until their next sign-in.
-- Append-only: once landed, never edit this file; add a new migration instead.
ALTER TABLE users ADD COLUMN user_key TEXT;
ALTER TABLE users ADD COLUMN key_salt TEXT;
