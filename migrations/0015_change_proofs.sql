-- Proofs of synced changes (issue 12): the last outbox entry of each segment (consecutive
-- entries of one write, at most 500) carries the segment's signatures as JSON
-- (hms_protocol::Proof). Entries written before this migration are sealed by the device's
-- key at its next write (they have no proof and follow the last proven entry).
-- Append-only: once landed, never edit this file; add a new migration instead.
ALTER TABLE change_log ADD COLUMN proof TEXT;
-- The last proven entry, found on every write that recorded changes.
CREATE INDEX change_log_proven ON change_log (seq) WHERE proof IS NOT NULL;
