-- The bed board saved part-way (issue 15): the board as replayed from the beds' stories up to
-- one point (the time and move of the last events it holds), so that a write that checks the
-- board replays only the events after it instead of every event since the first admission.
-- A local shortcut, never synced: it only ever equals a replay from the start. The triggers
-- drop it (in the same transaction) whenever a change reaches behind that point: an event at
-- or before it arriving (another device's, synced late), an event changed or deleted, an
-- admission whose discharge time moves to or from a time at or before it, one deleted or
-- arriving after events that name it. The app then replays from the start and saves anew.
-- Times are compared as text: both tables hold UTC times as `YYYY-MM-DDTHH:MM:SS.mmmZ` (the
-- local write path writes them so and the sync policy refuses any other form).
-- Append-only: once landed, never edit this file; add a new migration instead.

CREATE TABLE bed_board_snapshot (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    version    INTEGER NOT NULL,   -- the replay rules it was built by (inpatients::SNAPSHOT_VERSION)
    upto_at    TEXT NOT NULL,      -- the last group of events it holds: their time,
    upto_group TEXT NOT NULL,      -- and their move (or the event's id)
    board      TEXT NOT NULL       -- JSON of inpatients::derive::Derived
) STRICT;

CREATE TRIGGER bed_board_snapshot_event_insert AFTER INSERT ON bed_events
WHEN NEW.at <= (SELECT upto_at FROM bed_board_snapshot)
BEGIN
    DELETE FROM bed_board_snapshot;
END;

CREATE TRIGGER bed_board_snapshot_event_update AFTER UPDATE ON bed_events
WHEN OLD.at <= (SELECT upto_at FROM bed_board_snapshot) OR NEW.at <= (SELECT upto_at FROM bed_board_snapshot)
BEGIN
    DELETE FROM bed_board_snapshot;
END;

CREATE TRIGGER bed_board_snapshot_event_delete AFTER DELETE ON bed_events
WHEN OLD.at <= (SELECT upto_at FROM bed_board_snapshot)
BEGIN
    DELETE FROM bed_board_snapshot;
END;

CREATE TRIGGER bed_board_snapshot_admission_insert AFTER INSERT ON admissions
WHEN EXISTS (SELECT 1 FROM bed_events e, bed_board_snapshot s WHERE e.admission_id = NEW.id AND e.at <= s.upto_at)
BEGIN
    DELETE FROM bed_board_snapshot;
END;

CREATE TRIGGER bed_board_snapshot_admission_update AFTER UPDATE OF discharged_at, deleted_at ON admissions
WHEN (OLD.discharged_at IS NOT NEW.discharged_at
       AND (OLD.discharged_at <= (SELECT upto_at FROM bed_board_snapshot)
            OR NEW.discharged_at <= (SELECT upto_at FROM bed_board_snapshot)))
  OR (OLD.deleted_at IS NOT NEW.deleted_at
       AND EXISTS (SELECT 1 FROM bed_events e, bed_board_snapshot s WHERE e.admission_id = NEW.id AND e.at <= s.upto_at))
BEGIN
    DELETE FROM bed_board_snapshot;
END;

CREATE TRIGGER bed_board_snapshot_admission_delete AFTER DELETE ON admissions
WHEN EXISTS (SELECT 1 FROM bed_events e, bed_board_snapshot s WHERE e.admission_id = OLD.id AND e.at <= s.upto_at)
BEGIN
    DELETE FROM bed_board_snapshot;
END;
