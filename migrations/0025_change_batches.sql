-- A bulk load's outbox: one row per batch instead of one change_log row per record.
-- A batch's changes take the device sequences first_seq..last_seq. Its last change is an
-- ordinary change_log row (with its segment's proof), which holds the range: the next
-- change_log row takes last_seq + 1. The others wait here, already signed, and are written
-- out to change_log (at their own sequences, with their proofs) when the device pushes.
-- Append-only: once landed, never edit this file; add a new migration instead.

CREATE TABLE change_batches (
    last_seq  INTEGER PRIMARY KEY,
    first_seq INTEGER NOT NULL,
    entity    TEXT NOT NULL,
    hlc       TEXT NOT NULL,
    device_id TEXT NOT NULL,
    user_id   TEXT,
    changes   TEXT NOT NULL,   -- JSON array, one per seq from first_seq: {"id", "entity_id", "data"}
    proofs    TEXT NOT NULL    -- JSON object: seq (as text) -> proof (JSON text) of each segment end
) STRICT;
