-- The bed board's version: a number every write to what the board is derived from (bed
-- events, admissions, the saved board) bumps, by triggers, in the write's own transaction (a local write, a
-- pulled change applied, plain SQL alike). A read keeps the board it replayed in memory under
-- this number and replays again only once it has moved (`inpatients::derived_read`): the
-- board, the due list and a patient's admissions no longer replay the events of the last
-- hours at every read. Local (never synced).
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
