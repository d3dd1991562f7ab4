-- Foundation: device identity, settings, users, the sync change log and the audit log.
-- Append-only: once landed, never edit this file; add a new migration instead.

-- Local, per-device facts (device id, last hybrid-logical-clock value, audit head). Not synced.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- Clinic-wide settings (synced). Values are JSON.
CREATE TABLE settings (
    key           TEXT PRIMARY KEY,
    value         TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,          -- hybrid logical clock
    updated_by    TEXT,
    origin_device TEXT NOT NULL,
    deleted_at    TEXT
) STRICT;

-- Staff accounts (synced). roles is a JSON array of role codes.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,       -- UUIDv7
    username      TEXT NOT NULL,
    full_name     TEXT NOT NULL,
    password_hash TEXT NOT NULL,          -- argon2id PHC string
    roles         TEXT NOT NULL,
    active        INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,          -- hybrid logical clock
    updated_by    TEXT,
    origin_device TEXT NOT NULL,
    deleted_at    TEXT
) STRICT;
CREATE UNIQUE INDEX users_username ON users (username) WHERE deleted_at IS NULL;

-- Failed sign-in counters and lockouts: security state of this device, not synced.
CREATE TABLE sign_in_guard (
    user_id         TEXT PRIMARY KEY REFERENCES users (id),
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    last_failed_at  TEXT,
    locked_until    TEXT
) STRICT;

-- Outbox for sync: written in the same transaction as the domain change it describes.
CREATE TABLE change_log (
    seq        INTEGER PRIMARY KEY,       -- device sequence (push is idempotent by device + seq)
    id         TEXT NOT NULL UNIQUE,
    entity     TEXT NOT NULL,
    entity_id  TEXT NOT NULL,
    op         TEXT NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
    data       TEXT NOT NULL,             -- the row after the change, as JSON
    hlc        TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    user_id    TEXT,
    pushed_at  TEXT
) STRICT;
CREATE INDEX change_log_unpushed ON change_log (seq) WHERE pushed_at IS NULL;

-- Append-only, hash-chained audit log. seq is contiguous from 1; hash covers the row and prev_hash.
CREATE TABLE audit_log (
    seq        INTEGER PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    at         TEXT NOT NULL,             -- RFC 3339 UTC
    user_id    TEXT,
    device_id  TEXT NOT NULL,
    action     TEXT NOT NULL,
    entity     TEXT NOT NULL,
    entity_id  TEXT,
    detail     TEXT NOT NULL,             -- JSON
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
) STRICT;
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_user ON audit_log (user_id, seq);
CREATE INDEX audit_log_action ON audit_log (action, seq);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
