-- hms-server on SQLite (the clinic hub, `hms-server serve --sqlite PATH`): the same tables as
-- the PostgreSQL migrations (crates/server/migrations) after their last one, 0008. What
-- differs: the server sequence is INTEGER PRIMARY KEY AUTOINCREMENT (never reused), times are
-- TEXT in one UTC format (strftime '%Y-%m-%dT%H:%M:%fZ', which sorts as time does), JSON is
-- TEXT, bytes are BLOB.
-- Append-only: once landed, never edit this file; add a new migration instead (and mirror a
-- new PostgreSQL migration here when it changes a table both have).

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE devices (
    id                  TEXT PRIMARY KEY,
    tenant_id           TEXT NOT NULL REFERENCES tenants (id),
    name                TEXT NOT NULL,
    token_hash          BLOB NOT NULL CHECK (length(token_hash) = 32),
    enrolled_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    last_seen_at        TEXT,
    last_device_seq     INTEGER NOT NULL DEFAULT 0,
    revoked_at          TEXT,
    pending_changes     INTEGER CHECK (pending_changes >= 0),
    pending_reported_at TEXT,
    public_key          TEXT,
    quarantined_since   TEXT,
    readmitted_at       TEXT,
    UNIQUE (tenant_id, id)
);
CREATE INDEX devices_tenant ON devices (tenant_id, enrolled_at);

CREATE TABLE enrolment_codes (
    code_hash   BLOB PRIMARY KEY CHECK (length(code_hash) = 32),
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    used_by     TEXT REFERENCES devices (id),
    replaces    TEXT REFERENCES devices (id)
);

CREATE TABLE changes (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id   TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    device_seq  INTEGER NOT NULL CHECK (device_seq > 0),
    change_id   TEXT NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    op          TEXT NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
    data        TEXT NOT NULL CHECK (json_valid(data)),
    hlc         TEXT NOT NULL,
    user_id     TEXT,
    received_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    proof       TEXT CHECK (proof IS NULL OR json_valid(proof)),
    FOREIGN KEY (tenant_id, device_id) REFERENCES devices (tenant_id, id),
    CONSTRAINT changes_device_seq UNIQUE (tenant_id, device_id, device_seq)
);
CREATE INDEX changes_tenant_seq ON changes (tenant_id, seq);

CREATE TRIGGER changes_no_update BEFORE UPDATE ON changes
BEGIN
    SELECT RAISE(ABORT, 'changes is append-only');
END;
CREATE TRIGGER changes_no_delete BEFORE DELETE ON changes
BEGIN
    SELECT RAISE(ABORT, 'changes is append-only');
END;

CREATE TABLE blobs (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    sha256      TEXT NOT NULL CHECK (length(sha256) = 64 AND sha256 NOT GLOB '*[^0-9a-f]*'),
    bytes       BLOB NOT NULL,
    size        INTEGER NOT NULL CHECK (size = length(bytes)),
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (tenant_id, sha256)
);

CREATE TABLE tenant_accounts (
    tenant_id   TEXT PRIMARY KEY REFERENCES tenants (id),
    accounts    TEXT NOT NULL CHECK (json_valid(accounts)),
    folded_seq  INTEGER NOT NULL DEFAULT 0 CHECK (folded_seq >= 0)
);
