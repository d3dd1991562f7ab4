-- The bed board's version: a number every write to what the board is derived from (bed
-- events, admissions, the saved board) bumps, by triggers, in the write's own transaction (a local write, a
-- pulled change applied, plain SQL alike). A read keeps the board it replayed in memory under
-- this number and replays again only once it has moved (`inpatients::derived_read`): the
-- board, the due list and a patient's admissions no longer replay the events of the last
-- hours at every read. Local (never synced).
--
-- And a second saved board, `bed_board_recent`: where the board after the last events a write
-- replayed stands, and the name of that save; the board itself is kept in the memory of the
-- app that saved it (`bed_board_snapshot`, migration 0034, stays six hours back, so that
-- events synced late rarely drop it). Writes back to back on a busy ward replay only the
-- events since. The same triggers as migration 0034's drop it whenever a change reaches
-- behind it (an event pulled from another device mostly does): the replay then starts from
-- the other one, as it does in an app that does not hold the board of that name.
-- Append-only: once landed, never edit this file; add a new migration instead.

CREATE TABLE bed_board_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
) STRICT;

INSERT INTO bed_board_version (id, n) VALUES (1, 0);

CREATE TRIGGER bed_board_version_events_insert AFTER INSERT ON bed_events
BEGIN
    UPDATE bed_board_version SET n = n + 1 WHERE id = 1;
END;

CREATE TRIGGER bed_board_version_events_update AFTER UPDATE ON bed_events
BEGIN
    UPDATE bed_board_version SET n = n + 1 WHERE id = 1;
END;

CREATE TRIGGER bed_board_version_events_delete AFTER DELETE ON bed_events
BEGIN
    UPDATE bed_board_version SET n = n + 1 WHERE id = 1;
END;

CREATE TRIGGER bed_board_version_admissions_insert AFTER INSERT ON admissions
BEGIN
    UPDATE bed_board_version SET n = n + 1 WHERE id = 1;
END;

CREATE TRIGGER bed_board_version_admissions_update AFTER UPDATE ON admissions
BEGIN
    UPDATE bed_board_version SET n = n + 1 WHERE id = 1;
END;

CREATE TRIGGER bed_board_version_admissions_delete AFTER DELETE ON admissions
BEGIN
    UPDATE bed_board_version SET n = n + 1 WHERE id = 1;
END;

-- The saved board (migration 0029) is where a replay starts: saved or dropped, the next read
-- replays anew (a dropped one from the first event).
CREATE TRIGGER bed_board_version_snapshot_insert AFTER INSERT ON bed_board_snapshot
BEGIN
    UPDATE bed_board_version SET n = n + 1 WHERE id = 1;
END;

CREATE TRIGGER bed_board_version_snapshot_update AFTER UPDATE ON bed_board_snapshot
BEGIN
    UPDATE bed_board_version SET n = n + 1 WHERE id = 1;
END;

CREATE TRIGGER bed_board_version_snapshot_delete AFTER DELETE ON bed_board_snapshot
BEGIN
    UPDATE bed_board_version SET n = n + 1 WHERE id = 1;
END;

-- Each save of a board names itself (a new id), so that the app keeps the board it saved or
-- read in memory under that name instead of parsing the JSON at every write; a save that
-- was rolled back leaves a name no row holds.
ALTER TABLE bed_board_snapshot ADD COLUMN saved_id TEXT NOT NULL DEFAULT '';

CREATE TABLE bed_board_recent (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    version    INTEGER NOT NULL,   -- as in bed_board_snapshot
    upto_at    TEXT NOT NULL,      -- the last group of events it holds: their time,
    upto_group TEXT NOT NULL,      -- and their move (or the event's id)
    saved_id   TEXT NOT NULL       -- the board itself is in the memory of the app that saved it
) STRICT;

CREATE TRIGGER bed_board_recent_event_insert AFTER INSERT ON bed_events
WHEN NEW.at <= (SELECT upto_at FROM bed_board_recent)
BEGIN
    DELETE FROM bed_board_recent;
END;

CREATE TRIGGER bed_board_recent_event_update AFTER UPDATE ON bed_events
WHEN OLD.at <= (SELECT upto_at FROM bed_board_recent) OR NEW.at <= (SELECT upto_at FROM bed_board_recent)
BEGIN
    DELETE FROM bed_board_recent;
END;

CREATE TRIGGER bed_board_recent_event_delete AFTER DELETE ON bed_events
WHEN OLD.at <= (SELECT upto_at FROM bed_board_recent)
BEGIN
    DELETE FROM bed_board_recent;
END;

CREATE TRIGGER bed_board_recent_admission_insert AFTER INSERT ON admissions
WHEN EXISTS (SELECT 1 FROM bed_events e, bed_board_recent s WHERE e.admission_id = NEW.id AND e.at <= s.upto_at)
BEGIN
    DELETE FROM bed_board_recent;
END;

CREATE TRIGGER bed_board_recent_admission_update AFTER UPDATE OF discharged_at, deleted_at ON admissions
WHEN (OLD.discharged_at IS NOT NEW.discharged_at
       AND (OLD.discharged_at <= (SELECT upto_at FROM bed_board_recent)
            OR NEW.discharged_at <= (SELECT upto_at FROM bed_board_recent)))
  OR (OLD.deleted_at IS NOT NEW.deleted_at
       AND EXISTS (SELECT 1 FROM bed_events e, bed_board_recent s WHERE e.admission_id = NEW.id AND e.at <= s.upto_at))
BEGIN
    DELETE FROM bed_board_recent;
END;

CREATE TRIGGER bed_board_recent_admission_delete AFTER DELETE ON admissions
WHEN EXISTS (SELECT 1 FROM bed_events e, bed_board_recent s WHERE e.admission_id = OLD.id AND e.at <= s.upto_at)
BEGIN
    DELETE FROM bed_board_recent;
END;

-- A replay starts from it as from the other saved board.
CREATE TRIGGER bed_board_version_recent_insert AFTER INSERT ON bed_board_recent
BEGIN
    UPDATE bed_board_version SET n = n + 1 WHERE id = 1;
END;

CREATE TRIGGER bed_board_version_recent_update AFTER UPDATE ON bed_board_recent
BEGIN
    UPDATE bed_board_version SET n = n + 1 WHERE id = 1;
END;

CREATE TRIGGER bed_board_version_recent_delete AFTER DELETE ON bed_board_recent
BEGIN
    UPDATE bed_board_version SET n = n + 1 WHERE id = 1;
END;
