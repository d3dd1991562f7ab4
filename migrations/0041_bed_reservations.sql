-- Reserved beds (issue 15): a free bed held for one patient until a time, as two new kinds of
-- bed event, `reserved` (its patient, its lapse time `until`, a note in `reason`) and
-- `reservation_cancelled` (the patient whose reservation it ends). The board derives the bed's
-- state from them like every other event; a reservation lapses by itself when `until` passes.
-- SQLite cannot change a CHECK, so the table is rebuilt with the same rows. The bed board
-- snapshot's triggers (0034) go with the old table and are made again; the admissions
-- triggers that read bed_events are dropped first and made again so that nothing refers to a
-- missing table meanwhile; the saved board itself is dropped (replayed anew by the app).
-- Append-only: once landed, never edit this file; add a new migration instead.

DROP TRIGGER bed_board_snapshot_admission_insert;
DROP TRIGGER bed_board_snapshot_admission_update;
DROP TRIGGER bed_board_snapshot_admission_delete;
DELETE FROM bed_board_snapshot;

CREATE TABLE bed_events_v2 (
    id              TEXT PRIMARY KEY,
    bed_id          TEXT NOT NULL REFERENCES beds (id),
    kind            TEXT NOT NULL CHECK (kind IN ('admitted', 'transferred_out', 'transferred_in', 'swapped', 'discharged',
                                                  'cleaning', 'cleaned', 'out_of_service', 'back_in_service',
                                                  'reserved', 'reservation_cancelled')),
    admission_id    TEXT REFERENCES admissions (id),
    move_id         TEXT,
    at              TEXT NOT NULL,              -- UTC, RFC 3339 (clinic clock)
    reason          TEXT NOT NULL DEFAULT '',   -- out of service: why; reserved: the note
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    updated_by      TEXT,
    origin_device   TEXT NOT NULL,
    deleted_at      TEXT,
    patient_id      TEXT REFERENCES patients (id),  -- reserved / reservation_cancelled: for whom
    until           TEXT                            -- reserved: when it lapses (UTC, as `at`)
) STRICT;
INSERT INTO bed_events_v2 (id, bed_id, kind, admission_id, move_id, at, reason, created_at, updated_at, updated_by,
                           origin_device, deleted_at)
    SELECT id, bed_id, kind, admission_id, move_id, at, reason, created_at, updated_at, updated_by,
           origin_device, deleted_at
    FROM bed_events;
DROP TABLE bed_events;
ALTER TABLE bed_events_v2 RENAME TO bed_events;
CREATE INDEX bed_events_order ON bed_events (at, id);
CREATE INDEX bed_events_admission ON bed_events (admission_id) WHERE admission_id IS NOT NULL;

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
