-- Busiest hours (issue 17), local and derived (never synced): attended appointments (checked
-- in or later, not deleted) by their local date (and month), doctor, weekday (0 Monday …
-- 6 Sunday) and the hour their slot starts. A year read every attended appointment's index
-- entry (1.3 million at 1,000,000 patients: about 1 s); it now reads its whole months' counts
-- and its edge days' counts (`summary::HOURS`). An appointment whose date SQLite does not read
-- as a canonical date, or whose hour is off the clock, cannot be placed on the grid and is left
-- out, as the report always left it out.
--
-- Kept by triggers in the same transaction as every write to appointments (local, pulled,
-- bulk, plain SQL): a BEFORE trigger takes out what the row counted for (the view still sees
-- it), an AFTER trigger puts in what it counts for now. `reports::summary::verify` compares
-- both tables with a recount from the appointments.
-- Append-only: once landed, never edit this file; add a new migration instead.

CREATE TABLE report_hours_day (
    date      TEXT NOT NULL,
    doctor_id TEXT NOT NULL,
    weekday   INTEGER NOT NULL,
    hour      INTEGER NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (date, doctor_id, weekday, hour)
) STRICT, WITHOUT ROWID;

CREATE TABLE report_hours_month (
    month     TEXT NOT NULL,
    doctor_id TEXT NOT NULL,
    weekday   INTEGER NOT NULL,
    hour      INTEGER NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (month, doctor_id, weekday, hour)
) STRICT, WITHOUT ROWID;

-- One row per appointment as it is counted (none when it is not).
CREATE VIEW report_hours_rows AS
    SELECT id, date, doctor_id, (CAST(strftime('%w', date) AS INTEGER) + 6) % 7 AS weekday, start_min / 60 AS hour
    FROM appointments
    WHERE deleted_at IS NULL AND status IN ('checked_in', 'with_doctor', 'done')
      AND date(date) IS date AND start_min / 60 BETWEEN 0 AND 23;

INSERT INTO report_hours_day (date, doctor_id, weekday, hour, n)
    SELECT date, doctor_id, weekday, hour, COUNT(*) FROM report_hours_rows GROUP BY date, doctor_id, weekday, hour;
INSERT INTO report_hours_month (month, doctor_id, weekday, hour, n)
    SELECT substr(date, 1, 7), doctor_id, weekday, hour, SUM(n) FROM report_hours_day
    GROUP BY substr(date, 1, 7), doctor_id, weekday, hour;

CREATE TRIGGER report_hours_insert AFTER INSERT ON appointments
WHEN NEW.deleted_at IS NULL AND NEW.status IN ('checked_in', 'with_doctor', 'done') BEGIN
    INSERT INTO report_hours_day (date, doctor_id, weekday, hour, n)
        SELECT date, doctor_id, weekday, hour, 1 FROM report_hours_rows WHERE id = NEW.id
        ON CONFLICT DO UPDATE SET n = n + 1;
    INSERT INTO report_hours_month (month, doctor_id, weekday, hour, n)
        SELECT substr(date, 1, 7), doctor_id, weekday, hour, 1 FROM report_hours_rows WHERE id = NEW.id
        ON CONFLICT DO UPDATE SET n = n + 1;
END;

-- A step inside the attended statuses (called in, done) moves nothing and runs nothing.
CREATE TRIGGER report_hours_before_update BEFORE UPDATE OF date, doctor_id, status, deleted_at, start_min ON appointments
WHEN OLD.deleted_at IS NULL AND OLD.status IN ('checked_in', 'with_doctor', 'done')
 AND (NEW.deleted_at IS NOT NULL OR NEW.status NOT IN ('checked_in', 'with_doctor', 'done') OR OLD.date IS NOT NEW.date
      OR OLD.doctor_id IS NOT NEW.doctor_id OR OLD.start_min IS NOT NEW.start_min) BEGIN
    UPDATE report_hours_day SET n = n - 1
        WHERE (date, doctor_id, weekday, hour) IN (SELECT date, doctor_id, weekday, hour FROM report_hours_rows WHERE id = OLD.id);
    UPDATE report_hours_month SET n = n - 1
        WHERE (month, doctor_id, weekday, hour) IN
              (SELECT substr(date, 1, 7), doctor_id, weekday, hour FROM report_hours_rows WHERE id = OLD.id);
END;

CREATE TRIGGER report_hours_after_update AFTER UPDATE OF date, doctor_id, status, deleted_at, start_min ON appointments
WHEN NEW.deleted_at IS NULL AND NEW.status IN ('checked_in', 'with_doctor', 'done')
 AND (OLD.deleted_at IS NOT NULL OR OLD.status NOT IN ('checked_in', 'with_doctor', 'done') OR OLD.date IS NOT NEW.date
      OR OLD.doctor_id IS NOT NEW.doctor_id OR OLD.start_min IS NOT NEW.start_min) BEGIN
    INSERT INTO report_hours_day (date, doctor_id, weekday, hour, n)
        SELECT date, doctor_id, weekday, hour, 1 FROM report_hours_rows WHERE id = NEW.id
        ON CONFLICT DO UPDATE SET n = n + 1;
    INSERT INTO report_hours_month (month, doctor_id, weekday, hour, n)
        SELECT substr(date, 1, 7), doctor_id, weekday, hour, 1 FROM report_hours_rows WHERE id = NEW.id
        ON CONFLICT DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER report_hours_delete BEFORE DELETE ON appointments
WHEN OLD.deleted_at IS NULL AND OLD.status IN ('checked_in', 'with_doctor', 'done') BEGIN
    UPDATE report_hours_day SET n = n - 1
        WHERE (date, doctor_id, weekday, hour) IN (SELECT date, doctor_id, weekday, hour FROM report_hours_rows WHERE id = OLD.id);
    UPDATE report_hours_month SET n = n - 1
        WHERE (month, doctor_id, weekday, hour) IN
              (SELECT substr(date, 1, 7), doctor_id, weekday, hour FROM report_hours_rows WHERE id = OLD.id);
END;
