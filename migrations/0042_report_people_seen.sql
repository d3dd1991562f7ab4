-- Report summary: the people seen (an attended appointment: checked in or later, not deleted)
-- by day and by month, each resolved to its survivor as the new/returning report counts them
-- (`person` = the record's `merged_into`, else the record), with the person's first
-- registration (`first`: the earliest `created_at` of the person's record and of the records
-- merged into it by `patient_merges`). "New vs returning" over a year reads these rows, not
-- every appointment and the patients behind it.
-- Local derived tables (never synced). Triggers keep them equal to a recount in the same
-- transaction as every write that changes what they count: appointments (booking, status,
-- date, patient, deletion), patients (only `merged_into` and `created_at` changing: no trigger
-- runs on a patient insert, which cannot change them — an appointment or a merge row needs its
-- patient first — so bulk registration is not slowed), and patient_merges.
-- Each write takes out what the appointments it touches counted for (a BEFORE trigger: it
-- still sees the old rows) and puts back what they count for now (an AFTER trigger), through
-- the view `report_seen_rows`. A row whose count fell to 0 stays; readers skip it.
-- Append-only: once landed, never edit this file; add a new migration instead.

CREATE TABLE report_seen_day (
    date   TEXT NOT NULL,              -- the appointment's clinic local date
    person TEXT NOT NULL,              -- the survivor's patient id
    first  TEXT,                       -- the person's first registration (UTC instant)
    n      INTEGER NOT NULL,           -- attended appointments of the person that day
    PRIMARY KEY (date, person)
) STRICT, WITHOUT ROWID;

CREATE TABLE report_seen_month (
    month  TEXT NOT NULL,              -- YYYY-MM of the local date
    person TEXT NOT NULL,
    first  TEXT,
    n      INTEGER NOT NULL,
    PRIMARY KEY (month, person)
) STRICT, WITHOUT ROWID;

-- A merge's triggers find the records merged into a person; only merged records are in it,
-- so registering a patient (merged_into NULL) never writes to it.
CREATE INDEX patients_merged_into ON patients (merged_into) WHERE merged_into IS NOT NULL;

-- What each attended appointment counts for now.
CREATE VIEW report_seen_rows AS
SELECT a.id AS appointment_id, a.patient_id, a.date, COALESCE(p.merged_into, p.id) AS person,
       (SELECT MIN(q.created_at) FROM patients q
        WHERE q.id = COALESCE(p.merged_into, p.id)
           OR q.id IN (SELECT m.merged_id FROM patient_merges m WHERE m.survivor_id = COALESCE(p.merged_into, p.id))) AS first
FROM appointments a JOIN patients p ON p.id = a.patient_id
WHERE a.deleted_at IS NULL AND a.status IN ('checked_in', 'with_doctor', 'done');

-- What exists now.
INSERT INTO report_seen_day (date, person, first, n)
    SELECT date, person, MIN(first), COUNT(*) FROM report_seen_rows GROUP BY date, person;
INSERT INTO report_seen_month (month, person, first, n)
    SELECT substr(date, 1, 7), person, MIN(first), SUM(n) FROM report_seen_day GROUP BY substr(date, 1, 7), person;

-- Appointments: the old row out, the new row in.

CREATE TRIGGER report_seen_appointment_insert AFTER INSERT ON appointments
WHEN NEW.deleted_at IS NULL AND NEW.status IN ('checked_in', 'with_doctor', 'done')
BEGIN
    INSERT INTO report_seen_day (date, person, first, n)
        SELECT date, person, first, 1 FROM report_seen_rows WHERE appointment_id = NEW.id
        ON CONFLICT DO UPDATE SET n = n + excluded.n, first = excluded.first;
    INSERT INTO report_seen_month (month, person, first, n)
        SELECT substr(date, 1, 7), person, first, 1 FROM report_seen_rows WHERE appointment_id = NEW.id
        ON CONFLICT DO UPDATE SET n = n + excluded.n, first = excluded.first;
END;

CREATE TRIGGER report_seen_appointment_before_update BEFORE UPDATE ON appointments
WHEN OLD.deleted_at IS NULL AND OLD.status IN ('checked_in', 'with_doctor', 'done')
 AND (OLD.status IS NOT NEW.status OR NEW.deleted_at IS NOT NULL OR OLD.date IS NOT NEW.date
      OR OLD.patient_id IS NOT NEW.patient_id OR OLD.id IS NOT NEW.id)
BEGIN
    INSERT INTO report_seen_day (date, person, first, n)
        SELECT date, person, first, -1 FROM report_seen_rows WHERE appointment_id = OLD.id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_seen_month (month, person, first, n)
        SELECT substr(date, 1, 7), person, first, -1 FROM report_seen_rows WHERE appointment_id = OLD.id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER report_seen_appointment_after_update AFTER UPDATE ON appointments
WHEN NEW.deleted_at IS NULL AND NEW.status IN ('checked_in', 'with_doctor', 'done')
 AND (OLD.status IS NOT NEW.status OR OLD.deleted_at IS NOT NULL OR OLD.date IS NOT NEW.date
      OR OLD.patient_id IS NOT NEW.patient_id OR OLD.id IS NOT NEW.id)
BEGIN
    INSERT INTO report_seen_day (date, person, first, n)
        SELECT date, person, first, 1 FROM report_seen_rows WHERE appointment_id = NEW.id
        ON CONFLICT DO UPDATE SET n = n + excluded.n, first = excluded.first;
    INSERT INTO report_seen_month (month, person, first, n)
        SELECT substr(date, 1, 7), person, first, 1 FROM report_seen_rows WHERE appointment_id = NEW.id
        ON CONFLICT DO UPDATE SET n = n + excluded.n, first = excluded.first;
END;

CREATE TRIGGER report_seen_appointment_delete BEFORE DELETE ON appointments
WHEN OLD.deleted_at IS NULL AND OLD.status IN ('checked_in', 'with_doctor', 'done')
BEGIN
    INSERT INTO report_seen_day (date, person, first, n)
        SELECT date, person, first, -1 FROM report_seen_rows WHERE appointment_id = OLD.id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_seen_month (month, person, first, n)
        SELECT substr(date, 1, 7), person, first, -1 FROM report_seen_rows WHERE appointment_id = OLD.id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;

-- A person's records changing (a merge sets `merged_into`; `created_at` moves the first
-- registration): every appointment of the people concerned out, then back in. The people
-- concerned are the same before and after the write: the record itself, the person it
-- belonged to and belongs to now, and the survivor it was merged into by a merge row.

CREATE TRIGGER report_seen_patient_before_update BEFORE UPDATE OF merged_into, created_at ON patients
WHEN OLD.merged_into IS NOT NEW.merged_into OR OLD.created_at IS NOT NEW.created_at
BEGIN
    INSERT INTO report_seen_day (date, person, first, n)
        SELECT date, person, first, -COUNT(*) FROM report_seen_rows
        WHERE patient_id IN (SELECT id FROM patients WHERE id IN (OLD.id, OLD.merged_into, NEW.merged_into)
                             UNION SELECT id FROM patients WHERE merged_into IN (OLD.id, OLD.merged_into, NEW.merged_into)
                             UNION SELECT survivor_id FROM patient_merges WHERE merged_id = OLD.id
                             UNION SELECT id FROM patients WHERE merged_into IN (SELECT survivor_id FROM patient_merges WHERE merged_id = OLD.id))
          AND person IN (SELECT OLD.id UNION SELECT OLD.merged_into UNION SELECT NEW.merged_into
                         UNION SELECT survivor_id FROM patient_merges WHERE merged_id = OLD.id)
        GROUP BY date, person
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_seen_month (month, person, first, n)
        SELECT substr(date, 1, 7), person, first, -COUNT(*) FROM report_seen_rows
        WHERE patient_id IN (SELECT id FROM patients WHERE id IN (OLD.id, OLD.merged_into, NEW.merged_into)
                             UNION SELECT id FROM patients WHERE merged_into IN (OLD.id, OLD.merged_into, NEW.merged_into)
                             UNION SELECT survivor_id FROM patient_merges WHERE merged_id = OLD.id
                             UNION SELECT id FROM patients WHERE merged_into IN (SELECT survivor_id FROM patient_merges WHERE merged_id = OLD.id))
          AND person IN (SELECT OLD.id UNION SELECT OLD.merged_into UNION SELECT NEW.merged_into
                         UNION SELECT survivor_id FROM patient_merges WHERE merged_id = OLD.id)
        GROUP BY substr(date, 1, 7), person
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER report_seen_patient_after_update AFTER UPDATE OF merged_into, created_at ON patients
WHEN OLD.merged_into IS NOT NEW.merged_into OR OLD.created_at IS NOT NEW.created_at
BEGIN
    INSERT INTO report_seen_day (date, person, first, n)
        SELECT date, person, first, COUNT(*) FROM report_seen_rows
        WHERE patient_id IN (SELECT id FROM patients WHERE id IN (OLD.id, OLD.merged_into, NEW.merged_into)
                             UNION SELECT id FROM patients WHERE merged_into IN (OLD.id, OLD.merged_into, NEW.merged_into)
                             UNION SELECT survivor_id FROM patient_merges WHERE merged_id = OLD.id
                             UNION SELECT id FROM patients WHERE merged_into IN (SELECT survivor_id FROM patient_merges WHERE merged_id = OLD.id))
          AND person IN (SELECT OLD.id UNION SELECT OLD.merged_into UNION SELECT NEW.merged_into
                         UNION SELECT survivor_id FROM patient_merges WHERE merged_id = OLD.id)
        GROUP BY date, person
        ON CONFLICT DO UPDATE SET n = n + excluded.n, first = excluded.first;
    INSERT INTO report_seen_month (month, person, first, n)
        SELECT substr(date, 1, 7), person, first, COUNT(*) FROM report_seen_rows
        WHERE patient_id IN (SELECT id FROM patients WHERE id IN (OLD.id, OLD.merged_into, NEW.merged_into)
                             UNION SELECT id FROM patients WHERE merged_into IN (OLD.id, OLD.merged_into, NEW.merged_into)
                             UNION SELECT survivor_id FROM patient_merges WHERE merged_id = OLD.id
                             UNION SELECT id FROM patients WHERE merged_into IN (SELECT survivor_id FROM patient_merges WHERE merged_id = OLD.id))
          AND person IN (SELECT OLD.id UNION SELECT OLD.merged_into UNION SELECT NEW.merged_into
                         UNION SELECT survivor_id FROM patient_merges WHERE merged_id = OLD.id)
        GROUP BY substr(date, 1, 7), person
        ON CONFLICT DO UPDATE SET n = n + excluded.n, first = excluded.first;
END;

-- A merge row added, changed or removed moves its survivor's first registration: the
-- survivor's appointments out, then back in.

CREATE TRIGGER report_seen_merge_before_insert BEFORE INSERT ON patient_merges
BEGIN
    INSERT INTO report_seen_day (date, person, first, n)
        SELECT date, person, first, -COUNT(*) FROM report_seen_rows
        WHERE patient_id IN (SELECT NEW.survivor_id UNION SELECT id FROM patients WHERE merged_into = NEW.survivor_id)
          AND person = NEW.survivor_id
        GROUP BY date, person
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_seen_month (month, person, first, n)
        SELECT substr(date, 1, 7), person, first, -COUNT(*) FROM report_seen_rows
        WHERE patient_id IN (SELECT NEW.survivor_id UNION SELECT id FROM patients WHERE merged_into = NEW.survivor_id)
          AND person = NEW.survivor_id
        GROUP BY substr(date, 1, 7), person
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER report_seen_merge_after_insert AFTER INSERT ON patient_merges
BEGIN
    INSERT INTO report_seen_day (date, person, first, n)
        SELECT date, person, first, COUNT(*) FROM report_seen_rows
        WHERE patient_id IN (SELECT NEW.survivor_id UNION SELECT id FROM patients WHERE merged_into = NEW.survivor_id)
          AND person = NEW.survivor_id
        GROUP BY date, person
        ON CONFLICT DO UPDATE SET n = n + excluded.n, first = excluded.first;
    INSERT INTO report_seen_month (month, person, first, n)
        SELECT substr(date, 1, 7), person, first, COUNT(*) FROM report_seen_rows
        WHERE patient_id IN (SELECT NEW.survivor_id UNION SELECT id FROM patients WHERE merged_into = NEW.survivor_id)
          AND person = NEW.survivor_id
        GROUP BY substr(date, 1, 7), person
        ON CONFLICT DO UPDATE SET n = n + excluded.n, first = excluded.first;
END;

CREATE TRIGGER report_seen_merge_before_update BEFORE UPDATE ON patient_merges
WHEN OLD.survivor_id IS NOT NEW.survivor_id OR OLD.merged_id IS NOT NEW.merged_id
BEGIN
    INSERT INTO report_seen_day (date, person, first, n)
        SELECT date, person, first, -COUNT(*) FROM report_seen_rows
        WHERE patient_id IN (SELECT id FROM patients WHERE id IN (OLD.survivor_id, NEW.survivor_id)
                             UNION SELECT id FROM patients WHERE merged_into IN (OLD.survivor_id, NEW.survivor_id))
          AND person IN (OLD.survivor_id, NEW.survivor_id)
        GROUP BY date, person
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_seen_month (month, person, first, n)
        SELECT substr(date, 1, 7), person, first, -COUNT(*) FROM report_seen_rows
        WHERE patient_id IN (SELECT id FROM patients WHERE id IN (OLD.survivor_id, NEW.survivor_id)
                             UNION SELECT id FROM patients WHERE merged_into IN (OLD.survivor_id, NEW.survivor_id))
          AND person IN (OLD.survivor_id, NEW.survivor_id)
        GROUP BY substr(date, 1, 7), person
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER report_seen_merge_after_update AFTER UPDATE ON patient_merges
WHEN OLD.survivor_id IS NOT NEW.survivor_id OR OLD.merged_id IS NOT NEW.merged_id
BEGIN
    INSERT INTO report_seen_day (date, person, first, n)
        SELECT date, person, first, COUNT(*) FROM report_seen_rows
        WHERE patient_id IN (SELECT id FROM patients WHERE id IN (OLD.survivor_id, NEW.survivor_id)
                             UNION SELECT id FROM patients WHERE merged_into IN (OLD.survivor_id, NEW.survivor_id))
          AND person IN (OLD.survivor_id, NEW.survivor_id)
        GROUP BY date, person
        ON CONFLICT DO UPDATE SET n = n + excluded.n, first = excluded.first;
    INSERT INTO report_seen_month (month, person, first, n)
        SELECT substr(date, 1, 7), person, first, COUNT(*) FROM report_seen_rows
        WHERE patient_id IN (SELECT id FROM patients WHERE id IN (OLD.survivor_id, NEW.survivor_id)
                             UNION SELECT id FROM patients WHERE merged_into IN (OLD.survivor_id, NEW.survivor_id))
          AND person IN (OLD.survivor_id, NEW.survivor_id)
        GROUP BY substr(date, 1, 7), person
        ON CONFLICT DO UPDATE SET n = n + excluded.n, first = excluded.first;
END;

CREATE TRIGGER report_seen_merge_before_delete BEFORE DELETE ON patient_merges
BEGIN
    INSERT INTO report_seen_day (date, person, first, n)
        SELECT date, person, first, -COUNT(*) FROM report_seen_rows
        WHERE patient_id IN (SELECT OLD.survivor_id UNION SELECT id FROM patients WHERE merged_into = OLD.survivor_id)
          AND person = OLD.survivor_id
        GROUP BY date, person
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_seen_month (month, person, first, n)
        SELECT substr(date, 1, 7), person, first, -COUNT(*) FROM report_seen_rows
        WHERE patient_id IN (SELECT OLD.survivor_id UNION SELECT id FROM patients WHERE merged_into = OLD.survivor_id)
          AND person = OLD.survivor_id
        GROUP BY substr(date, 1, 7), person
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER report_seen_merge_after_delete AFTER DELETE ON patient_merges
BEGIN
    INSERT INTO report_seen_day (date, person, first, n)
        SELECT date, person, first, COUNT(*) FROM report_seen_rows
        WHERE patient_id IN (SELECT OLD.survivor_id UNION SELECT id FROM patients WHERE merged_into = OLD.survivor_id)
          AND person = OLD.survivor_id
        GROUP BY date, person
        ON CONFLICT DO UPDATE SET n = n + excluded.n, first = excluded.first;
    INSERT INTO report_seen_month (month, person, first, n)
        SELECT substr(date, 1, 7), person, first, COUNT(*) FROM report_seen_rows
        WHERE patient_id IN (SELECT OLD.survivor_id UNION SELECT id FROM patients WHERE merged_into = OLD.survivor_id)
          AND person = OLD.survivor_id
        GROUP BY substr(date, 1, 7), person
        ON CONFLICT DO UPDATE SET n = n + excluded.n, first = excluded.first;
END;
