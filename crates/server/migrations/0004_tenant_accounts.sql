-- The accounts of each tenant as the change policy sees them (hms-policy's Accounts: each
-- user's roles, active, deleted, with the stamps that set them), folded from the tenant's
-- accepted `users` changes up to `folded_seq`. Push reads it to check who may do what, folds
-- what it accepts, and catches up from `changes` first (so tenants from before this table
-- get theirs on their next push).
-- Append-only: once landed, never edit this file; add a new migration instead.
CREATE TABLE tenant_accounts (
    tenant_id   TEXT PRIMARY KEY REFERENCES tenants (id),
    accounts    JSONB NOT NULL,
    folded_seq  BIGINT NOT NULL DEFAULT 0 CHECK (folded_seq >= 0)
);
