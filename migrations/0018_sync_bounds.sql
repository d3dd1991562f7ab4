-- Bounds on what a pull keeps aside (issue 12): an orphan (an update waiting for its row's
-- insert) records when it was parked, so that the oldest can be dropped first past the cap
-- or the age limit (sync::bounds); open conflicts are counted per sending device, so that
-- one device cannot fill the inbox; resolved conflicts are pruned oldest-resolved first.
-- Orphans parked before this migration count from the moment it ran.
-- Append-only: once landed, never edit this file; add a new migration instead.
ALTER TABLE sync_orphans ADD COLUMN parked_at TEXT;
UPDATE sync_orphans SET parked_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now');
CREATE INDEX sync_orphans_parked ON sync_orphans (parked_at);
CREATE INDEX sync_conflicts_open_by_device ON sync_conflicts (remote_device, kind) WHERE resolved = 0;
CREATE INDEX sync_conflicts_resolved ON sync_conflicts (resolved_at) WHERE resolved = 1;
