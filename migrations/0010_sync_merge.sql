-- Sync, device side: per-field merge, hospital-rule conflicts, the conflicts inbox and the
-- clinic-wide audit log. Append-only: once landed, never edit this file; add a new migration.

-- Per-field last-writer-wins: for each synced row, the hybrid-logical-clock stamp that last
-- set each of its fields, as a JSON object {field: stamp}. The key "*" stands for every
-- field not named (a row's insert sets only "*", so a bulk import writes one small row per
-- record). Local writes stamp their fields in `WriteTx::record_change`; pulled changes in
-- `sync::apply`. Local, never synced.
CREATE TABLE sync_stamps (
    entity    TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    stamps    TEXT NOT NULL,                 -- JSON object
    PRIMARY KEY (entity, entity_id)
) STRICT, WITHOUT ROWID;

-- Rows that existed before this migration: every field was last set by the row's stamp.
INSERT INTO sync_stamps (entity, entity_id, stamps) SELECT 'settings', key, json_object('*', updated_at) FROM settings;
INSERT INTO sync_stamps (entity, entity_id, stamps) SELECT 'users', id, json_object('*', updated_at) FROM users;
INSERT INTO sync_stamps (entity, entity_id, stamps) SELECT 'patients', id, json_object('*', updated_at) FROM patients;
INSERT INTO sync_stamps (entity, entity_id, stamps) SELECT 'patient_merges', id, json_object('*', updated_at) FROM patient_merges;
INSERT INTO sync_stamps (entity, entity_id, stamps) SELECT 'departments', id, json_object('*', updated_at) FROM departments;
INSERT INTO sync_stamps (entity, entity_id, stamps) SELECT 'specialties', id, json_object('*', updated_at) FROM specialties;
INSERT INTO sync_stamps (entity, entity_id, stamps) SELECT 'staff', id, json_object('*', updated_at) FROM staff;
INSERT INTO sync_stamps (entity, entity_id, stamps) SELECT 'doctor_sessions', id, json_object('*', updated_at) FROM doctor_sessions;
INSERT INTO sync_stamps (entity, entity_id, stamps) SELECT 'schedule_exceptions', id, json_object('*', updated_at) FROM schedule_exceptions;
INSERT INTO sync_stamps (entity, entity_id, stamps) SELECT 'appointments', id, json_object('*', updated_at) FROM appointments;
INSERT INTO sync_stamps (entity, entity_id, stamps) SELECT 'services', id, json_object('*', updated_at) FROM services;
INSERT INTO sync_stamps (entity, entity_id, stamps) SELECT 'service_prices', id, json_object('*', updated_at) FROM service_prices;
INSERT INTO sync_stamps (entity, entity_id, stamps) SELECT 'bills', id, json_object('*', updated_at) FROM bills;
INSERT INTO sync_stamps (entity, entity_id, stamps) SELECT 'bill_lines', id, json_object('*', updated_at) FROM bill_lines;
INSERT INTO sync_stamps (entity, entity_id, stamps) SELECT 'payments', id, json_object('*', updated_at) FROM payments;
INSERT INTO sync_stamps (entity, entity_id, stamps) SELECT 'credit_notes', id, json_object('*', updated_at) FROM credit_notes;
INSERT INTO sync_stamps (entity, entity_id, stamps) SELECT 'bill_insurance', id, json_object('*', updated_at) FROM bill_insurance;
INSERT INTO sync_stamps (entity, entity_id, stamps) SELECT 'visits', id, json_object('*', updated_at) FROM visits;
INSERT INTO sync_stamps (entity, entity_id, stamps) SELECT 'vitals', id, json_object('*', updated_at) FROM vitals;
INSERT INTO sync_stamps (entity, entity_id, stamps) SELECT 'diagnoses', id, json_object('*', updated_at) FROM diagnoses;
INSERT INTO sync_stamps (entity, entity_id, stamps) SELECT 'allergies', id, json_object('*', updated_at) FROM allergies;
INSERT INTO sync_stamps (entity, entity_id, stamps) SELECT 'medicines', id, json_object('*', updated_at) FROM medicines;
INSERT INTO sync_stamps (entity, entity_id, stamps) SELECT 'prescriptions', id, json_object('*', updated_at) FROM prescriptions;
INSERT INTO sync_stamps (entity, entity_id, stamps) SELECT 'lab_tests', id, json_object('*', updated_at) FROM lab_tests;
INSERT INTO sync_stamps (entity, entity_id, stamps) SELECT 'lab_orders', id, json_object('*', updated_at) FROM lab_orders;
INSERT INTO sync_stamps (entity, entity_id, stamps) SELECT 'lab_results', id, json_object('*', updated_at) FROM lab_results;
INSERT INTO sync_stamps (entity, entity_id, stamps) SELECT 'attachments', id, json_object('*', updated_at) FROM attachments;

-- A pulled update or delete of a row this device does not have yet: kept until the row's
-- insert arrives, then merged like any other change (so the order changes arrive in never
-- matters).
CREATE TABLE sync_orphans (
    change_id TEXT PRIMARY KEY,
    entity    TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    change    TEXT NOT NULL                  -- JSON: the protocol's Change
) STRICT;
CREATE INDEX sync_orphans_row ON sync_orphans (entity, entity_id);

-- Conflict records get a kind, the field of a field conflict, the other row of a rule
-- conflict, and how and by whom they were resolved.
--   field              a field's value lost to a concurrent newer one (local = the winner)
--   slot_double_booked two active appointments in one doctor's slot (local = the one that
--                      keeps the slot: the earlier id; remote = the one held off it)
--   mrn_duplicate      one MRN on two patients (local = the earlier id, which keeps it;
--                      remote = the other, given a stand-in number)
--   refused            a change that could not be applied at all
ALTER TABLE sync_conflicts ADD COLUMN kind TEXT NOT NULL DEFAULT 'field'
    CHECK (kind IN ('field', 'slot_double_booked', 'mrn_duplicate', 'refused'));
ALTER TABLE sync_conflicts ADD COLUMN field TEXT;
ALTER TABLE sync_conflicts ADD COLUMN other_id TEXT;
ALTER TABLE sync_conflicts ADD COLUMN resolution TEXT;     -- keep_current, take_other, cancel, move, renumber, auto
ALTER TABLE sync_conflicts ADD COLUMN resolved_at TEXT;
ALTER TABLE sync_conflicts ADD COLUMN resolved_by TEXT;
UPDATE sync_conflicts SET kind = 'refused' WHERE local LIKE '{"refused":%';
CREATE INDEX sync_conflicts_by_kind ON sync_conflicts (kind, entity_id) WHERE resolved = 0;

-- Two devices booked one slot while apart: every device keeps both appointments, and the one
-- with the later id is held off the slot (a local flag, set the same way on every device,
-- never synced), so the no-double-booking index still holds.
ALTER TABLE appointments ADD COLUMN slot_conflict INTEGER NOT NULL DEFAULT 0 CHECK (slot_conflict IN (0, 1));
DROP INDEX appointments_one_per_slot;
CREATE UNIQUE INDEX appointments_one_per_slot ON appointments (doctor_id, date, start_min)
    WHERE status IN ('booked', 'checked_in', 'with_doctor', 'done') AND overbooked = 0 AND walk_in = 0
      AND deleted_at IS NULL AND slot_conflict = 0;
CREATE INDEX appointments_slot_conflict ON appointments (doctor_id, date, start_min) WHERE slot_conflict = 1;

-- Other devices' audit entries, pulled: append-only like audit_log, each device's chain kept
-- as that device wrote it (its seq, prev_hash and hash), verified per device.
CREATE TABLE audit_remote (
    device_id  TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    id         TEXT NOT NULL UNIQUE,
    at         TEXT NOT NULL,
    user_id    TEXT,
    action     TEXT NOT NULL,
    entity     TEXT NOT NULL,
    entity_id  TEXT,
    detail     TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL,
    PRIMARY KEY (device_id, seq)
) STRICT;
CREATE INDEX audit_remote_at ON audit_remote (at);
CREATE INDEX audit_remote_action ON audit_remote (action);
CREATE TRIGGER audit_remote_no_update BEFORE UPDATE ON audit_remote
BEGIN
    SELECT RAISE(ABORT, 'audit_remote is append-only');
END;
CREATE TRIGGER audit_remote_no_delete BEFORE DELETE ON audit_remote
BEGIN
    SELECT RAISE(ABORT, 'audit_remote is append-only');
END;

-- This device's audit entries go out through the outbox too (entity 'audit_log', insert
-- only): a push first queues the entries written since the last push (meta
-- `sync_audit_queued`), so a device that never syncs keeps no second copy of its audit.
