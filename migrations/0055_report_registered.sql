-- Registrations counted ahead (issue 17), local and derived (never synced). The three patient
-- reports (registrations by period, age band and sex, where they come from) read a year's
-- registrations from the index of patients by `created_at`: 1,000,000 entries at 1,000,000
-- patients, 250–540 ms, and grouping by place sorted them all. They now read counts.
--
-- `report_registered` counts the registered records (not merged into another, not deleted)
-- whose `created_at` reads as a UTC time ('YYYY-MM-DDTHH:MM…'), by `kind`:
--   0  by quarter of an hour (`period` 'YYYY-MM-DDTHH:MM', minutes 00/15/30/45; a, b ''):
--      every clinic's midnight is on a UTC quarter hour, so a range's local days and weeks
--      are whole quarters (a year: at most 35,040 rows);
--   1  by UTC day ('YYYY-MM-DD') and place (a district, b city, as typed);
--   2  by quarter and place;
--   3  by UTC day, sex (a) and birth (b): the year 'YYYY' of a date SQLite reads back as
--      itself, '' none, '~' and the text for anything else (banded in Rust, as before);
--   4  by quarter, sex and birth.
-- A range reads its whole UTC days (kinds 1, 3), the quarters before and after them (2, 4),
-- and any instants off a quarter hour from the records (`reports::registered`). An age band
-- needs the day of birth only in the years where the age on the range's last day crosses a
-- band's edge: those few years are counted from `patients_born`.
--
-- Kept by triggers in the same transaction as every write to patients (registration, edit,
-- merge, unmerge, import, pull, plain SQL): a BEFORE trigger takes out what the row counted
-- for, an AFTER trigger puts in what it counts for now. `reports::summary::verify` compares
-- the table with a recount from the patients.
-- Append-only: once landed, never edit this file; add a new migration instead.

CREATE TABLE report_registered (
    kind   INTEGER NOT NULL,
    period TEXT NOT NULL,
    a      TEXT NOT NULL,
    b      TEXT NOT NULL,
    n      INTEGER NOT NULL,
    PRIMARY KEY (kind, period, a, b)
) STRICT, WITHOUT ROWID;

-- One row per registered record as it is counted (none when it is not).
CREATE VIEW report_registered_base AS
    SELECT pk, substr(created_at, 1, 10) AS day,
           substr(created_at, 1, 14) || CASE WHEN substr(created_at, 15, 2) < '15' THEN '00'
                                             WHEN substr(created_at, 15, 2) < '30' THEN '15'
                                             WHEN substr(created_at, 15, 2) < '45' THEN '30' ELSE '45' END AS quarter,
           district, city, sex,
           CASE WHEN birth_date IS NULL THEN '' WHEN date(birth_date) IS birth_date THEN substr(birth_date, 1, 4)
                ELSE '~' || birth_date END AS born
    FROM patients
    WHERE status <> 'merged' AND deleted_at IS NULL
      AND created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]*';

-- Each record's five counts.
CREATE VIEW report_registered_parts AS
    SELECT pk, 0 AS kind, quarter AS period, '' AS a, '' AS b FROM report_registered_base
    UNION ALL SELECT pk, 1, day, district, city FROM report_registered_base
    UNION ALL SELECT pk, 2, quarter, district, city FROM report_registered_base
    UNION ALL SELECT pk, 3, day, sex, born FROM report_registered_base
    UNION ALL SELECT pk, 4, quarter, sex, born FROM report_registered_base;

INSERT INTO report_registered (kind, period, a, b, n)
    SELECT kind, period, a, b, COUNT(*) FROM report_registered_parts GROUP BY kind, period, a, b;

CREATE TRIGGER report_registered_insert AFTER INSERT ON patients
WHEN NEW.status <> 'merged' AND NEW.deleted_at IS NULL BEGIN
    INSERT INTO report_registered (kind, period, a, b, n)
        SELECT kind, period, a, b, 1 FROM report_registered_parts WHERE pk = NEW.pk
        ON CONFLICT DO UPDATE SET n = n + 1;
END;

-- A change that moves nothing (a new phone, a status among the registered ones) runs nothing.
CREATE TRIGGER report_registered_before_update
BEFORE UPDATE OF status, deleted_at, created_at, sex, birth_date, district, city ON patients
WHEN OLD.status <> 'merged' AND OLD.deleted_at IS NULL
 AND (NEW.status = 'merged' OR NEW.deleted_at IS NOT NULL OR OLD.created_at IS NOT NEW.created_at
      OR OLD.sex IS NOT NEW.sex OR OLD.birth_date IS NOT NEW.birth_date
      OR OLD.district IS NOT NEW.district OR OLD.city IS NOT NEW.city) BEGIN
    INSERT INTO report_registered (kind, period, a, b, n)
        SELECT kind, period, a, b, -1 FROM report_registered_parts WHERE pk = OLD.pk
        ON CONFLICT DO UPDATE SET n = n - 1;
END;

CREATE TRIGGER report_registered_after_update
AFTER UPDATE OF status, deleted_at, created_at, sex, birth_date, district, city ON patients
WHEN NEW.status <> 'merged' AND NEW.deleted_at IS NULL
 AND (OLD.status = 'merged' OR OLD.deleted_at IS NOT NULL OR OLD.created_at IS NOT NEW.created_at
      OR OLD.sex IS NOT NEW.sex OR OLD.birth_date IS NOT NEW.birth_date
      OR OLD.district IS NOT NEW.district OR OLD.city IS NOT NEW.city) BEGIN
    INSERT INTO report_registered (kind, period, a, b, n)
        SELECT kind, period, a, b, 1 FROM report_registered_parts WHERE pk = NEW.pk
        ON CONFLICT DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER report_registered_delete BEFORE DELETE ON patients
WHEN OLD.status <> 'merged' AND OLD.deleted_at IS NULL BEGIN
    INSERT INTO report_registered (kind, period, a, b, n)
        SELECT kind, period, a, b, -1 FROM report_registered_parts WHERE pk = OLD.pk
        ON CONFLICT DO UPDATE SET n = n - 1;
END;

-- The registrations born in a given span of days, by when they were registered: what an age
-- band needs in the years where it turns on the day of birth (a few thousand entries a year
-- of births, where the year's registrations are hundreds of thousands).
CREATE INDEX patients_born ON patients (birth_date, created_at, sex) WHERE status <> 'merged' AND deleted_at IS NULL;

-- Places are read from the counts now; a range off the quarter hours reads a few minutes'
-- records through patients_created.
DROP INDEX patients_created_place;
