-- The clinical record (first slice): visits, vitals, diagnoses, allergies, the medicine list,
-- prescriptions, the lab catalogue, lab orders and results, and the ICD-10-CM code table.
-- Measurements are integers in stated units (no floats): temperature in tenths of a degree
-- Celsius, weight in grams, height in millimetres. Lab values are kept as entered text with
-- an integer-scaled copy (value_milli = value × 1000) for the abnormal flag and trends.
-- Append-only: once landed, never edit this file; add a new migration instead.

CREATE TABLE visits (
    id              TEXT PRIMARY KEY,          -- UUIDv7
    patient_id      TEXT NOT NULL REFERENCES patients (id),
    doctor_id       TEXT NOT NULL REFERENCES staff (id),
    appointment_id  TEXT REFERENCES appointments (id),
    started_at      TEXT NOT NULL,             -- UTC
    closed_at       TEXT,
    complaints      TEXT NOT NULL DEFAULT '',
    history         TEXT NOT NULL DEFAULT '',
    examination     TEXT NOT NULL DEFAULT '',
    notes           TEXT NOT NULL DEFAULT '',
    follow_up_date  TEXT,                      -- YYYY-MM-DD, clinic local
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,             -- hybrid logical clock
    updated_by      TEXT,
    origin_device   TEXT NOT NULL,
    deleted_at      TEXT
) STRICT;
CREATE INDEX visits_patient ON visits (patient_id, started_at);
CREATE UNIQUE INDEX visits_appointment ON visits (appointment_id) WHERE appointment_id IS NOT NULL AND deleted_at IS NULL;

CREATE TABLE vitals (
    id                 TEXT PRIMARY KEY,
    patient_id         TEXT NOT NULL REFERENCES patients (id),
    visit_id           TEXT REFERENCES visits (id),
    taken_at           TEXT NOT NULL,          -- UTC
    temperature_c_x10  INTEGER,                -- 372 = 37.2 °C
    pulse              INTEGER,                -- beats a minute
    bp_systolic        INTEGER,                -- mmHg
    bp_diastolic       INTEGER,
    resp_rate          INTEGER,                -- breaths a minute
    spo2               INTEGER,                -- %
    weight_g           INTEGER,
    height_mm          INTEGER,
    pain               INTEGER CHECK (pain BETWEEN 0 AND 10),
    confirmed          INTEGER NOT NULL DEFAULT 0 CHECK (confirmed IN (0, 1)),  -- out-of-range values confirmed
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    updated_by         TEXT,
    origin_device      TEXT NOT NULL,
    deleted_at         TEXT
) STRICT;
CREATE INDEX vitals_patient ON vitals (patient_id, taken_at);

CREATE TABLE diagnoses (
    id             TEXT PRIMARY KEY,
    visit_id       TEXT NOT NULL REFERENCES visits (id),
    patient_id     TEXT NOT NULL REFERENCES patients (id),
    icd10          TEXT,                       -- NULL: uncoded free text
    text           TEXT NOT NULL,
    certainty      TEXT NOT NULL CHECK (certainty IN ('provisional', 'final')),
    resolved_at    TEXT,                       -- an active problem until resolved
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    updated_by     TEXT,
    origin_device  TEXT NOT NULL,
    deleted_at     TEXT
) STRICT;
CREATE INDEX diagnoses_patient ON diagnoses (patient_id, created_at);
CREATE INDEX diagnoses_visit ON diagnoses (visit_id);

CREATE TABLE allergies (
    id             TEXT PRIMARY KEY,
    patient_id     TEXT NOT NULL REFERENCES patients (id),
    substance      TEXT NOT NULL,
    reaction       TEXT NOT NULL DEFAULT '',
    severity       TEXT NOT NULL CHECK (severity IN ('mild', 'moderate', 'severe')),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    updated_by     TEXT,
    origin_device  TEXT NOT NULL,
    deleted_at     TEXT
) STRICT;
CREATE INDEX allergies_patient ON allergies (patient_id);

-- The managed medicine list.
CREATE TABLE medicines (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    strength       TEXT NOT NULL DEFAULT '',   -- "500 mg"
    form           TEXT NOT NULL DEFAULT '',   -- tablet, syrup, injection ...
    active         INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    updated_by     TEXT,
    origin_device  TEXT NOT NULL,
    deleted_at     TEXT
) STRICT;
CREATE UNIQUE INDEX medicines_name ON medicines (name COLLATE NOCASE, strength COLLATE NOCASE, form COLLATE NOCASE) WHERE deleted_at IS NULL;

CREATE TABLE prescriptions (
    id               TEXT PRIMARY KEY,
    visit_id         TEXT NOT NULL REFERENCES visits (id),
    patient_id       TEXT NOT NULL REFERENCES patients (id),
    medicine_id      TEXT NOT NULL REFERENCES medicines (id),
    dose             TEXT NOT NULL,            -- "1", "0.5", "5"
    dose_unit        TEXT NOT NULL,            -- tablet, ml, mg ...
    route            TEXT NOT NULL DEFAULT '',
    frequency        TEXT NOT NULL DEFAULT '',
    duration_days    INTEGER CHECK (duration_days BETWEEN 1 AND 3650),
    instructions     TEXT NOT NULL DEFAULT '',
    override_reason  TEXT,                     -- why warnings were overridden
    warnings         TEXT NOT NULL DEFAULT '[]',  -- JSON: the warnings overridden
    starts_on        TEXT NOT NULL,            -- YYYY-MM-DD, clinic local
    ends_on          TEXT,                     -- starts_on + duration_days; NULL: long-term
    stopped_at       TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    updated_by       TEXT,
    origin_device    TEXT NOT NULL,
    deleted_at       TEXT
) STRICT;
CREATE INDEX prescriptions_patient ON prescriptions (patient_id, created_at);
CREATE INDEX prescriptions_current ON prescriptions (patient_id, ends_on) WHERE stopped_at IS NULL AND deleted_at IS NULL;
CREATE INDEX prescriptions_visit ON prescriptions (visit_id);

-- The lab catalogue. Reference range in value_milli units (value × 1000), either end open.
CREATE TABLE lab_tests (
    id             TEXT PRIMARY KEY,
    code           TEXT NOT NULL,
    name           TEXT NOT NULL,
    unit           TEXT NOT NULL DEFAULT '',
    ref_low_milli  INTEGER,
    ref_high_milli INTEGER,
    active         INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    updated_by     TEXT,
    origin_device  TEXT NOT NULL,
    deleted_at     TEXT
) STRICT;
CREATE UNIQUE INDEX lab_tests_code ON lab_tests (code COLLATE NOCASE) WHERE deleted_at IS NULL;

CREATE TABLE lab_orders (
    id             TEXT PRIMARY KEY,
    visit_id       TEXT REFERENCES visits (id),
    patient_id     TEXT NOT NULL REFERENCES patients (id),
    test_id        TEXT NOT NULL REFERENCES lab_tests (id),
    status         TEXT NOT NULL CHECK (status IN ('ordered', 'resulted', 'cancelled')),
    ordered_at     TEXT NOT NULL,
    ordered_by     TEXT,
    note           TEXT NOT NULL DEFAULT '',
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    updated_by     TEXT,
    origin_device  TEXT NOT NULL,
    deleted_at     TEXT
) STRICT;
CREATE INDEX lab_orders_patient ON lab_orders (patient_id, ordered_at);
CREATE INDEX lab_orders_pending ON lab_orders (status, ordered_at);
CREATE INDEX lab_orders_patient_status ON lab_orders (patient_id, status);

CREATE TABLE lab_results (
    id             TEXT PRIMARY KEY,
    order_id       TEXT NOT NULL REFERENCES lab_orders (id),
    patient_id     TEXT NOT NULL REFERENCES patients (id),
    test_id        TEXT NOT NULL REFERENCES lab_tests (id),
    value          TEXT NOT NULL,              -- as entered: "5.4"
    value_milli    INTEGER,                    -- 5400; NULL for a non-numeric value
    unit           TEXT NOT NULL DEFAULT '',
    ref_low_milli  INTEGER,                    -- the range in force when resulted
    ref_high_milli INTEGER,
    abnormal       TEXT NOT NULL CHECK (abnormal IN ('normal', 'low', 'high', 'unknown')),
    resulted_at    TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    updated_by     TEXT,
    origin_device  TEXT NOT NULL,
    deleted_at     TEXT
) STRICT;
CREATE INDEX lab_results_patient ON lab_results (patient_id, resulted_at);
CREATE UNIQUE INDEX lab_results_order ON lab_results (order_id) WHERE deleted_at IS NULL;

-- ICD-10-CM: reference data shipped with the app (crates/core/assets/icd10), the same on every
-- device, so not synced; filled once by clinical::icd10::ensure_loaded.
CREATE TABLE icd10_codes (
    rowid        INTEGER PRIMARY KEY,          -- tabular order: a category before its children
    code         TEXT NOT NULL UNIQUE,         -- "E11.9"
    code_key     TEXT NOT NULL UNIQUE,         -- "E119": what prefix searches compare
    description  TEXT NOT NULL
) STRICT;
CREATE VIRTUAL TABLE icd10_fts USING fts5 (
    description,
    content = 'icd10_codes',
    content_rowid = 'rowid',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
