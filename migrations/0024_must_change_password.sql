-- A password an administrator set (a new account, a reset) is temporary (issue 14): its owner
-- must choose their own at the next sign-in. SYNCED with the account (an account field: set
-- by an administrator's create or reset, cleared by the owner's own change), so it reaches the
-- device where the user signs in. Accounts from before: not temporary.
-- Append-only: once landed, never edit this file; add a new migration instead.
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;
