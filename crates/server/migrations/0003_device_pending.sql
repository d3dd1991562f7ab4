-- What each device still had to send when it last pulled (it reports the count), so the
-- administrator sees queued changes per device in `hms-server devices`.
-- Append-only: once landed, never edit this file; add a new migration instead.
ALTER TABLE devices ADD COLUMN pending_changes BIGINT CHECK (pending_changes >= 0);
ALTER TABLE devices ADD COLUMN pending_reported_at TIMESTAMPTZ;
