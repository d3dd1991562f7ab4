-- Patients: the register, and the search indexes kept in the same transaction as each write.
-- Append-only: once landed, never edit this file; add a new migration instead.

CREATE TABLE patients (
    pk                   INTEGER PRIMARY KEY,     -- local row number: the search indexes' rowid (not synced)
    id                   TEXT NOT NULL UNIQUE,    -- UUIDv7 (synced identity)
    mrn                  TEXT NOT NULL UNIQUE,    -- medical record number: device prefix + sequence
    given_name           TEXT NOT NULL,
    family_name          TEXT NOT NULL DEFAULT '',
    other_names          TEXT NOT NULL DEFAULT '',
    sex                  TEXT NOT NULL CHECK (sex IN ('female', 'male', 'other', 'unknown')),
    birth_date           TEXT,                    -- YYYY-MM-DD
    birth_date_estimated INTEGER NOT NULL DEFAULT 0 CHECK (birth_date_estimated IN (0, 1)),
    phones               TEXT NOT NULL DEFAULT '[]',  -- JSON array of phone numbers as entered (normalised)
    address              TEXT NOT NULL DEFAULT '',
    national_id          TEXT NOT NULL DEFAULT '',
    insurance_id         TEXT NOT NULL DEFAULT '',
    emergency_name       TEXT NOT NULL DEFAULT '',
    emergency_phone      TEXT NOT NULL DEFAULT '',
    emergency_relation   TEXT NOT NULL DEFAULT '',
    blood_group          TEXT NOT NULL DEFAULT '',
    allergies            TEXT NOT NULL DEFAULT '[]',  -- JSON array of flagged allergies
    notes                TEXT NOT NULL DEFAULT '',
    status               TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deceased', 'moved', 'merged')),
    merged_into          TEXT,                    -- id of the record this one was merged into
    last_visit_at        TEXT,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,           -- hybrid logical clock
    updated_by           TEXT,
    origin_device        TEXT NOT NULL,
    deleted_at           TEXT
) STRICT;
CREATE INDEX patients_national_id ON patients (national_id) WHERE national_id <> '';
CREATE INDEX patients_insurance_id ON patients (insurance_id) WHERE insurance_id <> '';
CREATE INDEX patients_birth_date ON patients (birth_date);

-- Every phone digit string of every patient, for exact matches (local index, rebuilt on write).
CREATE TABLE patient_phones (
    patient_pk INTEGER NOT NULL REFERENCES patients (pk) ON DELETE CASCADE,
    digits     TEXT NOT NULL,
    PRIMARY KEY (patient_pk, digits)
) STRICT, WITHOUT ROWID;
CREATE INDEX patient_phones_digits ON patient_phones (digits);

-- Name search: prefix of any name part, case- and accent-insensitive. rowid = patients.pk.
CREATE VIRTUAL TABLE patient_name_fts USING fts5 (
    names,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '1 2 3'
);

-- Phone search by any part of the digits (three or more). rowid = patients.pk.
CREATE VIRTUAL TABLE patient_phone_fts USING fts5 (
    digits,
    content = '',
    contentless_delete = 1,
    tokenize = 'trigram'
);
