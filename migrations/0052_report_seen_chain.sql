-- The people-seen chain (issue 17), local and derived (never synced), for doctor performance,
-- new vs returning and the administrator's Home. They count distinct people over a range
-- (seen by a doctor, seen at all) and the people whose first attended appointment ever (with
-- that doctor, at all) is in it. Distinct people do not add up from daily counts (0042 kept one
-- row per person and day and still read a year's worth of them: 1.3 s at 1,000,000 patients,
-- and doctor performance read the appointments: 40–60 s). What adds up is this: an attended
-- appointment is its person's first in [F, T] (with the doctor, or at all) exactly when its
-- date is in the range and the date of the person's previous attended appointment (in the
-- order date, id; with that doctor, or with anyone) is before F, or there is none — and it is
-- their first ever when there is none. So every attended appointment (checked in or later, not
-- deleted) is kept with its person (a merged duplicate's survivor, `merged_into`) and the dates
-- of the person's previous attended appointment with the same doctor and with anyone; and they
-- are counted by month, the previous one's month, and doctor. A range reads its whole months
-- from the counts and its edge days from the appointments kept (`reports::seen`).
--
-- Kept by triggers in the same transaction as every write it depends on (appointments and
-- patients; a local write, a pulled change, a bulk load, a repair in SQL): each marks the
-- person whose appointments it touched in `report_seen_dirty`, and one trigger there takes the
-- person's rows out of the counts, works them out again and counts them back in, as for the
-- diagnoses (migration 0050). Appointment dates are clinic-local already: no time zone needed.
--
-- Also here, for the rest of doctor performance (each read every appointment or visit of the
-- range): consultation time (done appointments with both instants, done after called) by date
-- and doctor, and visits (and those setting a follow-up date) by the UTC day they started and
-- doctor, as the other instant-based summaries count them (migration 0028).
--
-- `reports::summary::verify` compares every table here with a recount from the records.
-- Append-only: once landed, never edit this file; add a new migration instead.

-- 0042's per person and day summary is replaced.
DROP TRIGGER report_seen_appointment_insert;
DROP TRIGGER report_seen_appointment_before_update;
DROP TRIGGER report_seen_appointment_after_update;
DROP TRIGGER report_seen_appointment_delete;
DROP TRIGGER report_seen_patient_before_update;
DROP TRIGGER report_seen_patient_after_update;
DROP TRIGGER report_seen_merge_before_insert;
DROP TRIGGER report_seen_merge_after_insert;
DROP TRIGGER report_seen_merge_before_update;
DROP TRIGGER report_seen_merge_after_update;
DROP TRIGGER report_seen_merge_before_delete;
DROP TRIGGER report_seen_merge_after_delete;
DROP VIEW report_seen_rows;
DROP TABLE report_seen_day;
DROP TABLE report_seen_month;

-- Every attended appointment, with `record` its own patient (so that a person's rows are found
-- through the appointments' patient index).
CREATE VIEW report_seen_base AS
    SELECT a.date, a.id, a.patient_id AS record, COALESCE(p.merged_into, p.id) AS person, a.doctor_id
    FROM appointments a JOIN patients p ON p.id = a.patient_id
    WHERE a.deleted_at IS NULL AND a.status IN ('checked_in', 'with_doctor', 'done');

CREATE TABLE report_seen_chain (
    date        TEXT NOT NULL,      -- the appointment's clinic-local date
    id          TEXT NOT NULL,      -- the appointment
    person      TEXT NOT NULL,
    doctor_id   TEXT NOT NULL,
    prev_doctor TEXT,               -- the date of the person's previous attended appointment with this doctor
    prev_any    TEXT,               -- ... with anyone
    PRIMARY KEY (date, id)
) STRICT, WITHOUT ROWID;
CREATE INDEX report_seen_chain_person ON report_seen_chain (person);
-- With the doctor, so that a range starting inside a month counts by doctor from the index alone.
CREATE INDEX report_seen_chain_prev_doctor ON report_seen_chain (prev_doctor, doctor_id) WHERE prev_doctor IS NOT NULL;
CREATE INDEX report_seen_chain_prev_any ON report_seen_chain (prev_any) WHERE prev_any IS NOT NULL;

-- Each row as it is counted: kind 0 people (key ''), 1 people by doctor (key the doctor).
CREATE VIEW report_seen_parts AS
    SELECT person, substr(date, 1, 7) AS month, COALESCE(substr(prev_any, 1, 7), '') AS prev_month,
           0 AS kind, '' AS key FROM report_seen_chain
    UNION ALL
    SELECT person, substr(date, 1, 7), COALESCE(substr(prev_doctor, 1, 7), ''), 1, doctor_id FROM report_seen_chain;

CREATE TABLE report_seen_month (
    month      TEXT NOT NULL,       -- YYYY-MM
    prev_month TEXT NOT NULL,       -- '' none: the person's first attended appointment (with the doctor)
    kind       INTEGER NOT NULL,
    key        TEXT NOT NULL,
    n          INTEGER NOT NULL,
    PRIMARY KEY (month, prev_month, kind, key)
) STRICT, WITHOUT ROWID;

-- What exists now.
INSERT INTO report_seen_chain (date, id, person, doctor_id, prev_doctor, prev_any)
    SELECT date, id, person, doctor_id,
           LAG(date) OVER (PARTITION BY person, doctor_id ORDER BY date, id),
           LAG(date) OVER (PARTITION BY person ORDER BY date, id)
    FROM report_seen_base;
INSERT INTO report_seen_month (month, prev_month, kind, key, n)
    SELECT month, prev_month, kind, key, COUNT(*) FROM report_seen_parts GROUP BY month, prev_month, kind, key;

CREATE TABLE report_seen_dirty (person TEXT NOT NULL) STRICT;

CREATE TRIGGER report_seen_recount AFTER INSERT ON report_seen_dirty BEGIN
    INSERT INTO report_seen_month (month, prev_month, kind, key, n)
        SELECT month, prev_month, kind, key, -COUNT(*) FROM report_seen_parts WHERE person = NEW.person
        GROUP BY month, prev_month, kind, key
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    DELETE FROM report_seen_chain WHERE person = NEW.person;
    INSERT INTO report_seen_chain (date, id, person, doctor_id, prev_doctor, prev_any)
        SELECT date, id, person, doctor_id,
               LAG(date) OVER (PARTITION BY doctor_id ORDER BY date, id),
               LAG(date) OVER (ORDER BY date, id)
        FROM report_seen_base
        WHERE record IN (SELECT id FROM patients WHERE id = NEW.person AND merged_into IS NULL
                         UNION ALL SELECT id FROM patients WHERE merged_into = NEW.person)
          AND person = NEW.person;
    INSERT INTO report_seen_month (month, prev_month, kind, key, n)
        SELECT month, prev_month, kind, key, COUNT(*) FROM report_seen_parts WHERE person = NEW.person
        GROUP BY month, prev_month, kind, key
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    DELETE FROM report_seen_dirty WHERE rowid = NEW.rowid;
END;

-- What marks a person: an attended appointment written or deleted; an appointment becoming
-- attended or no longer (status, deletion); an attended one moved (date, doctor, patient: the
-- person it leaves is marked first, so its recount takes the row out before the other's puts it
-- back under the same (date, id)); a record merged or unmerged (its old and new survivor); a
-- survivor written after records merged into it, or deleted. A step inside the attended
-- statuses (checked in, with the doctor, done) changes nothing here and marks no one.
CREATE TRIGGER report_seen_appointment_insert AFTER INSERT ON appointments
WHEN NEW.deleted_at IS NULL AND NEW.status IN ('checked_in', 'with_doctor', 'done') BEGIN
    INSERT INTO report_seen_dirty (person) SELECT COALESCE(merged_into, id) FROM patients WHERE id = NEW.patient_id;
END;

CREATE TRIGGER report_seen_appointment_update AFTER UPDATE OF status, deleted_at, date, doctor_id, patient_id ON appointments
WHEN (OLD.deleted_at IS NULL AND OLD.status IN ('checked_in', 'with_doctor', 'done'))
         IS NOT (NEW.deleted_at IS NULL AND NEW.status IN ('checked_in', 'with_doctor', 'done'))
     OR (NEW.deleted_at IS NULL AND NEW.status IN ('checked_in', 'with_doctor', 'done')
         AND (OLD.date IS NOT NEW.date OR OLD.doctor_id IS NOT NEW.doctor_id OR OLD.patient_id IS NOT NEW.patient_id)) BEGIN
    INSERT INTO report_seen_dirty (person) SELECT COALESCE(merged_into, id) FROM patients WHERE id = OLD.patient_id;
    INSERT INTO report_seen_dirty (person)
        SELECT COALESCE(merged_into, id) FROM patients WHERE id = NEW.patient_id AND NEW.patient_id IS NOT OLD.patient_id;
END;

CREATE TRIGGER report_seen_appointment_delete AFTER DELETE ON appointments
WHEN OLD.deleted_at IS NULL AND OLD.status IN ('checked_in', 'with_doctor', 'done') BEGIN
    INSERT INTO report_seen_dirty (person) SELECT COALESCE(merged_into, id) FROM patients WHERE id = OLD.patient_id;
END;

CREATE TRIGGER report_seen_patient_merge AFTER UPDATE OF merged_into ON patients
WHEN OLD.merged_into IS NOT NEW.merged_into BEGIN
    INSERT INTO report_seen_dirty (person) VALUES (COALESCE(OLD.merged_into, OLD.id));
    INSERT INTO report_seen_dirty (person) VALUES (COALESCE(NEW.merged_into, NEW.id));
END;

CREATE TRIGGER report_seen_patient_insert AFTER INSERT ON patients
WHEN EXISTS (SELECT 1 FROM patients WHERE merged_into = NEW.id) BEGIN
    INSERT INTO report_seen_dirty (person) VALUES (NEW.id);
END;

CREATE TRIGGER report_seen_patient_delete AFTER DELETE ON patients
WHEN EXISTS (SELECT 1 FROM report_seen_chain WHERE person = OLD.id) BEGIN
    INSERT INTO report_seen_dirty (person) VALUES (OLD.id);
END;

-- Consultation time: done appointments (not deleted) with both instants, done at or after
-- called, in whole seconds, by date and doctor.
CREATE TABLE report_consult_day (
    date      TEXT NOT NULL,
    doctor_id TEXT NOT NULL,
    n         INTEGER NOT NULL,
    seconds   INTEGER NOT NULL,
    PRIMARY KEY (date, doctor_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE report_consult_month (
    month     TEXT NOT NULL,
    doctor_id TEXT NOT NULL,
    n         INTEGER NOT NULL,
    seconds   INTEGER NOT NULL,
    PRIMARY KEY (month, doctor_id)
) STRICT, WITHOUT ROWID;

-- One row per appointment as it is counted (none when it is not).
CREATE VIEW report_consult_rows AS
    SELECT id, date, doctor_id, CAST(ROUND((julianday(done_at) - julianday(called_at)) * 86400) AS INTEGER) AS seconds
    FROM appointments
    WHERE deleted_at IS NULL AND status = 'done' AND called_at IS NOT NULL AND done_at IS NOT NULL
      AND julianday(done_at) >= julianday(called_at);

INSERT INTO report_consult_day (date, doctor_id, n, seconds)
    SELECT date, doctor_id, COUNT(*), SUM(seconds) FROM report_consult_rows GROUP BY date, doctor_id;
INSERT INTO report_consult_month (month, doctor_id, n, seconds)
    SELECT substr(date, 1, 7), doctor_id, SUM(n), SUM(seconds) FROM report_consult_day GROUP BY substr(date, 1, 7), doctor_id;

-- Every change takes the old row's count out (BEFORE: the view still sees it) and puts the
-- new row's in (AFTER).
CREATE TRIGGER report_consult_insert AFTER INSERT ON appointments WHEN NEW.status = 'done' BEGIN
    INSERT INTO report_consult_day (date, doctor_id, n, seconds)
        SELECT date, doctor_id, 1, seconds FROM report_consult_rows WHERE id = NEW.id
        ON CONFLICT DO UPDATE SET n = n + 1, seconds = seconds + excluded.seconds;
    INSERT INTO report_consult_month (month, doctor_id, n, seconds)
        SELECT substr(date, 1, 7), doctor_id, 1, seconds FROM report_consult_rows WHERE id = NEW.id
        ON CONFLICT DO UPDATE SET n = n + 1, seconds = seconds + excluded.seconds;
END;

CREATE TRIGGER report_consult_before_update BEFORE UPDATE OF status, deleted_at, date, doctor_id, called_at, done_at ON appointments
WHEN OLD.status = 'done' BEGIN
    UPDATE report_consult_day SET n = n - 1, seconds = seconds - (SELECT seconds FROM report_consult_rows WHERE id = OLD.id)
        WHERE date = OLD.date AND doctor_id = OLD.doctor_id AND EXISTS (SELECT 1 FROM report_consult_rows WHERE id = OLD.id);
    UPDATE report_consult_month SET n = n - 1, seconds = seconds - (SELECT seconds FROM report_consult_rows WHERE id = OLD.id)
        WHERE month = substr(OLD.date, 1, 7) AND doctor_id = OLD.doctor_id
          AND EXISTS (SELECT 1 FROM report_consult_rows WHERE id = OLD.id);
END;

CREATE TRIGGER report_consult_after_update AFTER UPDATE OF status, deleted_at, date, doctor_id, called_at, done_at ON appointments
WHEN NEW.status = 'done' BEGIN
    INSERT INTO report_consult_day (date, doctor_id, n, seconds)
        SELECT date, doctor_id, 1, seconds FROM report_consult_rows WHERE id = NEW.id
        ON CONFLICT DO UPDATE SET n = n + 1, seconds = seconds + excluded.seconds;
    INSERT INTO report_consult_month (month, doctor_id, n, seconds)
        SELECT substr(date, 1, 7), doctor_id, 1, seconds FROM report_consult_rows WHERE id = NEW.id
        ON CONFLICT DO UPDATE SET n = n + 1, seconds = seconds + excluded.seconds;
END;

CREATE TRIGGER report_consult_delete BEFORE DELETE ON appointments WHEN OLD.status = 'done' BEGIN
    UPDATE report_consult_day SET n = n - 1, seconds = seconds - (SELECT seconds FROM report_consult_rows WHERE id = OLD.id)
        WHERE date = OLD.date AND doctor_id = OLD.doctor_id AND EXISTS (SELECT 1 FROM report_consult_rows WHERE id = OLD.id);
    UPDATE report_consult_month SET n = n - 1, seconds = seconds - (SELECT seconds FROM report_consult_rows WHERE id = OLD.id)
        WHERE month = substr(OLD.date, 1, 7) AND doctor_id = OLD.doctor_id
          AND EXISTS (SELECT 1 FROM report_consult_rows WHERE id = OLD.id);
END;

-- Visits (not deleted) and those that set a follow-up date, by the UTC day they started
-- (`substr(started_at, 1, 10)`) and doctor; a range reads its whole UTC days here and its edges
-- from the visits (`summary::utc_pieces`).
CREATE TABLE report_follow_ups_day (
    day       TEXT NOT NULL,
    doctor_id TEXT NOT NULL,
    n         INTEGER NOT NULL,
    asked     INTEGER NOT NULL,
    PRIMARY KEY (day, doctor_id)
) STRICT, WITHOUT ROWID;

INSERT INTO report_follow_ups_day (day, doctor_id, n, asked)
    SELECT substr(started_at, 1, 10), doctor_id, COUNT(*), SUM(follow_up_date IS NOT NULL AND follow_up_date <> '')
    FROM visits WHERE deleted_at IS NULL GROUP BY 1, 2;

CREATE TRIGGER report_follow_ups_insert AFTER INSERT ON visits WHEN NEW.deleted_at IS NULL BEGIN
    INSERT INTO report_follow_ups_day (day, doctor_id, n, asked)
        VALUES (substr(NEW.started_at, 1, 10), NEW.doctor_id, 1, NEW.follow_up_date IS NOT NULL AND NEW.follow_up_date <> '')
        ON CONFLICT DO UPDATE SET n = n + 1, asked = asked + excluded.asked;
END;

CREATE TRIGGER report_follow_ups_update_old AFTER UPDATE OF started_at, deleted_at, doctor_id, follow_up_date ON visits
WHEN OLD.deleted_at IS NULL BEGIN
    UPDATE report_follow_ups_day SET n = n - 1, asked = asked - (OLD.follow_up_date IS NOT NULL AND OLD.follow_up_date <> '')
        WHERE day = substr(OLD.started_at, 1, 10) AND doctor_id = OLD.doctor_id;
END;

CREATE TRIGGER report_follow_ups_update_new AFTER UPDATE OF started_at, deleted_at, doctor_id, follow_up_date ON visits
WHEN NEW.deleted_at IS NULL BEGIN
    INSERT INTO report_follow_ups_day (day, doctor_id, n, asked)
        VALUES (substr(NEW.started_at, 1, 10), NEW.doctor_id, 1, NEW.follow_up_date IS NOT NULL AND NEW.follow_up_date <> '')
        ON CONFLICT DO UPDATE SET n = n + 1, asked = asked + excluded.asked;
END;

CREATE TRIGGER report_follow_ups_delete AFTER DELETE ON visits WHEN OLD.deleted_at IS NULL BEGIN
    UPDATE report_follow_ups_day SET n = n - 1, asked = asked - (OLD.follow_up_date IS NOT NULL AND OLD.follow_up_date <> '')
        WHERE day = substr(OLD.started_at, 1, 10) AND doctor_id = OLD.doctor_id;
END;
