-- Sync, device side: what a pull could not merge silently.
-- Append-only: once landed, never edit this file; add a new migration instead.
--
-- Enrolment (server URL, device token, tenant) and the pull cursor live in `meta` (local,
-- never synced). A row here is the losing version of a last-writer-wins merge: two devices
-- changed the same row while apart, the newer hybrid-logical-clock stamp won, and this keeps
-- the other version for a person to look at (the conflicts inbox comes later).
CREATE TABLE sync_conflicts (
    id           TEXT PRIMARY KEY,               -- UUIDv7
    entity       TEXT NOT NULL,
    entity_id    TEXT NOT NULL,
    local        TEXT NOT NULL,                  -- JSON: the row on this device when the change came in
    remote       TEXT NOT NULL,                  -- JSON: the change's data as pulled
    local_hlc    TEXT NOT NULL,
    remote_hlc   TEXT NOT NULL,
    winner       TEXT NOT NULL CHECK (winner IN ('local', 'remote')),
    remote_device TEXT NOT NULL,
    detected_at  TEXT NOT NULL,                  -- RFC 3339 UTC
    resolved     INTEGER NOT NULL DEFAULT 0 CHECK (resolved IN (0, 1))
) STRICT;
CREATE INDEX sync_conflicts_open ON sync_conflicts (entity, entity_id) WHERE resolved = 0;

-- For each other device, the highest device sequence of its changes this device has pulled
-- and merged. The server hands out a device's changes in device-sequence order, so a change
-- at or below this mark has been merged before (a pull replayed after a lost cursor or a new
-- enrolment) and is skipped instead of being merged, or taken for a conflict, twice.
CREATE TABLE sync_seen (
    device_id  TEXT PRIMARY KEY,
    device_seq INTEGER NOT NULL
) STRICT;
