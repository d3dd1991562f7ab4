-- A prescription stopped by a doctor keeps who stopped it and why (issue 20); `stopped_at`
-- (0007) says when. Synced like the rest of the row.
-- Append-only: once landed, never edit this file; add a new migration instead.
ALTER TABLE prescriptions ADD COLUMN stopped_by TEXT;
ALTER TABLE prescriptions ADD COLUMN stop_reason TEXT NOT NULL DEFAULT '';
