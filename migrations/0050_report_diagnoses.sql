-- The morbidity summary (issue 17), local and derived (never synced): the reports count each
-- person once per ICD-10 code (and once per chapter, and once in all) over a range, with their
-- sex and their age band on the day of their first such diagnosis in it. A count of that kind
-- does not add up from daily counts; what does is this: a diagnosis is its person's first of a
-- code in the range [F, T] exactly when its day is in the range and the day of the same
-- person's previous diagnosis of that code (in the order of the visits' start) is before F or
-- there is none. So every coded diagnosis is kept with its clinic-local day, its person (a
-- merged duplicate's survivor), their sex and age band on that day, and the days of the
-- person's previous diagnosis of the same code, of the same chapter and of any code; and the
-- diagnoses are counted by month, the previous one's month, code (or chapter), sex and band.
-- A range reads its whole months from the counts and its edge days from the diagnoses
-- (`reports::morbidity_summary`).
--
-- Clinic-local days need the clinic's time zone, which SQLite does not know: `report_zone`
-- holds its UTC offsets (from each instant on, as instants are stored), written by the app for
-- the zone named in `report_zone_name`. Until the app has written them (a new database, this
-- migration on an old one, or a time zone changed on any device) the summary is empty; then
-- the app builds it a few thousand people per write, so that other writes go on meanwhile
-- (`morbidity_summary::ensure`). The triggers keep every person they touch right from the
-- moment the offsets are written, built yet or not.
--
-- Kept by triggers in the same transaction as every write it depends on (diagnoses, visits,
-- patients: a local write, a pulled change, a bulk load, a repair in SQL): each marks the
-- person whose diagnoses it touched in `report_dx_dirty`, and one trigger there takes the
-- person's rows out of the counts, works them out again and counts them back in.
-- `reports::summary::verify` compares both tables with a recount from the records.
-- Append-only: once landed, never edit this file; add a new migration instead.

CREATE TABLE report_zone (
    start   TEXT PRIMARY KEY,   -- '' for the earliest offset, then each change's instant
    seconds INTEGER NOT NULL    -- local time − UTC
) STRICT, WITHOUT ROWID;

-- The zone the offsets are for, and how far the build after writing them has gone: the
-- people (survivors' ids) up to `built_to` are counted; NULL when everyone is.
CREATE TABLE report_zone_name (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    zone     TEXT NOT NULL,
    built_to TEXT
) STRICT;

-- ICD-10-CM's chapters as `reports::morbidity::CHAPTERS` numbers them (from 0); a code whose
-- first three characters are in none is chapter 22, an uncoded diagnosis -1.
CREATE TABLE report_chapters (
    n     INTEGER PRIMARY KEY,
    first TEXT NOT NULL,
    last  TEXT NOT NULL
) STRICT;
INSERT INTO report_chapters (n, first, last) VALUES
    (0, 'A00', 'B99'), (1, 'C00', 'D49'), (2, 'D50', 'D89'), (3, 'E00', 'E89'), (4, 'F01', 'F99'),
    (5, 'G00', 'G99'), (6, 'H00', 'H59'), (7, 'H60', 'H95'), (8, 'I00', 'I99'), (9, 'J00', 'J99'),
    (10, 'K00', 'K95'), (11, 'L00', 'L99'), (12, 'M00', 'M99'), (13, 'N00', 'N99'), (14, 'O00', 'O9A'),
    (15, 'P00', 'P96'), (16, 'Q00', 'Q99'), (17, 'R00', 'R99'), (18, 'S00', 'T88'), (19, 'V00', 'Y99'),
    (20, 'Z00', 'Z99'), (21, 'U00', 'U85');

-- Every diagnosis of a visit (neither deleted) whose patient's survivor exists, with `record`
-- the visit's own patient (so a person's rows are found through the patients' indexes).
-- code '' is an uncoded (free-text) diagnosis: counted, not in any person's chain.
-- `text` is kept only for a code the ICD-10 list does not hold (its description then).
CREATE VIEW report_dx_base AS
    SELECT day, id, record, person, code, at,
           CASE WHEN code = '' THEN -1
                ELSE COALESCE((SELECT c.n FROM report_chapters c
                               WHERE length(CAST(substr(code, 1, 3) AS BLOB)) >= 3
                                 AND substr(code, 1, 3) BETWEEN c.first AND c.last), 22) END AS chapter,
           CASE sex WHEN 'female' THEN 0 WHEN 'male' THEN 1 WHEN 'other' THEN 2 ELSE 3 END AS sex,
           CASE WHEN birth IS NULL OR date(birth) IS NOT birth OR birth > day THEN 6
                ELSE (SELECT CASE WHEN age >= 65 THEN 5 WHEN age >= 45 THEN 4 WHEN age >= 25 THEN 3
                                  WHEN age >= 15 THEN 2 WHEN age >= 5 THEN 1 ELSE 0 END
                      FROM (SELECT CAST(substr(day, 1, 4) AS INTEGER) - CAST(substr(birth, 1, 4) AS INTEGER)
                                   - (substr(day, 6) < substr(birth, 6)) AS age)) END AS band,
           CASE WHEN code <> '' AND NOT EXISTS (SELECT 1 FROM icd10_codes i WHERE i.code = x.code) THEN text END AS text
    FROM (SELECT dg.id, p.id AS record, s.id AS person, COALESCE(UPPER(TRIM(dg.icd10)), '') AS code, v.started_at AS at,
                 date(v.started_at, (SELECT z.seconds FROM report_zone z WHERE z.start <= v.started_at
                                     ORDER BY z.start DESC LIMIT 1) || ' seconds') AS day,
                 s.sex, s.birth_date AS birth, dg.text
          FROM visits v
          JOIN diagnoses dg ON dg.visit_id = v.id
          JOIN patients p ON p.id = v.patient_id
          JOIN patients s ON s.id = COALESCE(p.merged_into, p.id)
          WHERE v.deleted_at IS NULL AND dg.deleted_at IS NULL) x;

CREATE TABLE report_dx (
    day          TEXT NOT NULL,     -- YYYY-MM-DD, clinic local
    id           TEXT NOT NULL,     -- the diagnosis
    person       TEXT NOT NULL,
    code         TEXT NOT NULL,     -- '' uncoded
    chapter      INTEGER NOT NULL,
    sex          INTEGER NOT NULL,  -- 0 female, 1 male, 2 other, 3 unknown
    band         INTEGER NOT NULL,  -- AGE_BANDS' index, 6 unknown
    prev_code    TEXT,              -- the day of the person's previous diagnosis of this code
    prev_chapter TEXT,              -- ... of this chapter
    prev_any     TEXT,              -- ... of any code
    text         TEXT,
    PRIMARY KEY (day, id)
) STRICT, WITHOUT ROWID;
CREATE INDEX report_dx_person ON report_dx (person);
CREATE INDEX report_dx_prev_code ON report_dx (prev_code) WHERE prev_code IS NOT NULL;
CREATE INDEX report_dx_prev_chapter ON report_dx (prev_chapter) WHERE prev_chapter IS NOT NULL;
CREATE INDEX report_dx_prev_any ON report_dx (prev_any) WHERE prev_any IS NOT NULL;
CREATE INDEX report_dx_unlisted ON report_dx (code) WHERE text IS NOT NULL;

-- Each row of report_dx as it is counted: kind 0 by code, 1 by chapter, 2 people, 3 uncoded.
CREATE VIEW report_dx_parts AS
    SELECT person, substr(day, 1, 7) AS month, COALESCE(substr(prev_code, 1, 7), '') AS prev_month,
           0 AS kind, code AS key, sex, band FROM report_dx WHERE code <> ''
    UNION ALL
    SELECT person, substr(day, 1, 7), COALESCE(substr(prev_chapter, 1, 7), ''), 1, CAST(chapter AS TEXT), sex, band
    FROM report_dx WHERE code <> ''
    UNION ALL
    SELECT person, substr(day, 1, 7), COALESCE(substr(prev_any, 1, 7), ''), 2, '', sex, band FROM report_dx WHERE code <> ''
    UNION ALL
    SELECT person, substr(day, 1, 7), '', 3, '', 0, 0 FROM report_dx WHERE code = '';

CREATE TABLE report_dx_month (
    month      TEXT NOT NULL,       -- YYYY-MM, clinic local
    prev_month TEXT NOT NULL,       -- '' none
    kind       INTEGER NOT NULL,
    key        TEXT NOT NULL,
    sex        INTEGER NOT NULL,
    band       INTEGER NOT NULL,
    n          INTEGER NOT NULL,
    PRIMARY KEY (month, prev_month, kind, key, sex, band)
) STRICT, WITHOUT ROWID;

CREATE TABLE report_dx_dirty (person TEXT NOT NULL) STRICT;

CREATE TRIGGER report_dx_recount AFTER INSERT ON report_dx_dirty BEGIN
    INSERT INTO report_dx_month (month, prev_month, kind, key, sex, band, n)
        SELECT month, prev_month, kind, key, sex, band, -COUNT(*) FROM report_dx_parts WHERE person = NEW.person
        GROUP BY month, prev_month, kind, key, sex, band
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    DELETE FROM report_dx WHERE person = NEW.person;
    INSERT INTO report_dx (day, id, person, code, chapter, sex, band, prev_code, prev_chapter, prev_any, text)
        SELECT day, id, person, code, chapter, sex, band,
               CASE WHEN code <> '' THEN LAG(day) OVER (PARTITION BY code ORDER BY at, id) END,
               CASE WHEN code <> '' THEN LAG(day) OVER (PARTITION BY chapter ORDER BY at, id) END,
               CASE WHEN code <> '' THEN LAG(day) OVER (PARTITION BY code = '' ORDER BY at, id) END,
               text
        FROM report_dx_base
        WHERE record IN (SELECT id FROM patients WHERE id = NEW.person AND merged_into IS NULL
                         UNION ALL SELECT id FROM patients WHERE merged_into = NEW.person)
          AND person = NEW.person AND day IS NOT NULL;
    INSERT INTO report_dx_month (month, prev_month, kind, key, sex, band, n)
        SELECT month, prev_month, kind, key, sex, band, COUNT(*) FROM report_dx_parts WHERE person = NEW.person
        GROUP BY month, prev_month, kind, key, sex, band
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    DELETE FROM report_dx_dirty WHERE rowid = NEW.rowid;
END;

-- A change that moves diagnoses from one person to another marks the one they leave first:
-- its recount takes them out before the other's puts them in under the same (day, id).
-- What marks a person: a diagnosis written, changed (its code, text, deletion or visit) or
-- deleted; a visit with diagnoses written, moved in time, deleted or moved to another record;
-- a record merged or unmerged (its old and new survivor); a survivor's sex or birth date
-- changed; a survivor written or deleted after the records merged into it.
CREATE TRIGGER report_dx_diagnosis_insert AFTER INSERT ON diagnoses BEGIN
    INSERT INTO report_dx_dirty (person)
        SELECT COALESCE(p.merged_into, p.id) FROM visits v JOIN patients p ON p.id = v.patient_id WHERE v.id = NEW.visit_id;
END;

CREATE TRIGGER report_dx_diagnosis_update AFTER UPDATE OF icd10, text, deleted_at, visit_id ON diagnoses
WHEN OLD.icd10 IS NOT NEW.icd10 OR OLD.text IS NOT NEW.text OR OLD.deleted_at IS NOT NEW.deleted_at
     OR OLD.visit_id IS NOT NEW.visit_id BEGIN
    INSERT INTO report_dx_dirty (person)
        SELECT COALESCE(p.merged_into, p.id) FROM visits v JOIN patients p ON p.id = v.patient_id WHERE v.id = OLD.visit_id;
    INSERT INTO report_dx_dirty (person)
        SELECT COALESCE(p.merged_into, p.id) FROM visits v JOIN patients p ON p.id = v.patient_id
        WHERE v.id = NEW.visit_id AND NEW.visit_id IS NOT OLD.visit_id;
END;

CREATE TRIGGER report_dx_diagnosis_delete AFTER DELETE ON diagnoses BEGIN
    INSERT INTO report_dx_dirty (person)
        SELECT COALESCE(p.merged_into, p.id) FROM visits v JOIN patients p ON p.id = v.patient_id WHERE v.id = OLD.visit_id;
END;

CREATE TRIGGER report_dx_visit_insert AFTER INSERT ON visits
WHEN EXISTS (SELECT 1 FROM diagnoses WHERE visit_id = NEW.id) BEGIN
    INSERT INTO report_dx_dirty (person) SELECT COALESCE(merged_into, id) FROM patients WHERE id = NEW.patient_id;
END;

CREATE TRIGGER report_dx_visit_update AFTER UPDATE OF started_at, deleted_at, patient_id ON visits
WHEN (OLD.started_at IS NOT NEW.started_at OR OLD.deleted_at IS NOT NEW.deleted_at OR OLD.patient_id IS NOT NEW.patient_id)
     AND EXISTS (SELECT 1 FROM diagnoses WHERE visit_id = NEW.id) BEGIN
    INSERT INTO report_dx_dirty (person) SELECT COALESCE(merged_into, id) FROM patients WHERE id = OLD.patient_id;
    INSERT INTO report_dx_dirty (person)
        SELECT COALESCE(merged_into, id) FROM patients WHERE id = NEW.patient_id AND NEW.patient_id IS NOT OLD.patient_id;
END;

CREATE TRIGGER report_dx_visit_delete AFTER DELETE ON visits
WHEN EXISTS (SELECT 1 FROM diagnoses WHERE visit_id = OLD.id) BEGIN
    INSERT INTO report_dx_dirty (person) SELECT COALESCE(merged_into, id) FROM patients WHERE id = OLD.patient_id;
END;

CREATE TRIGGER report_dx_patient_merge AFTER UPDATE OF merged_into ON patients
WHEN OLD.merged_into IS NOT NEW.merged_into BEGIN
    INSERT INTO report_dx_dirty (person) VALUES (COALESCE(OLD.merged_into, OLD.id));
    INSERT INTO report_dx_dirty (person) VALUES (COALESCE(NEW.merged_into, NEW.id));
END;

CREATE TRIGGER report_dx_patient_facts AFTER UPDATE OF sex, birth_date ON patients
WHEN (OLD.sex IS NOT NEW.sex OR OLD.birth_date IS NOT NEW.birth_date)
     AND EXISTS (SELECT 1 FROM report_dx WHERE person = NEW.id) BEGIN
    INSERT INTO report_dx_dirty (person) VALUES (NEW.id);
END;

CREATE TRIGGER report_dx_patient_insert AFTER INSERT ON patients
WHEN EXISTS (SELECT 1 FROM patients WHERE merged_into = NEW.id) BEGIN
    INSERT INTO report_dx_dirty (person) VALUES (NEW.id);
END;

CREATE TRIGGER report_dx_patient_delete AFTER DELETE ON patients
WHEN EXISTS (SELECT 1 FROM report_dx WHERE person = OLD.id) BEGIN
    INSERT INTO report_dx_dirty (person) VALUES (OLD.id);
END;
