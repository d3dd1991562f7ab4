-- Patients: merged records and legacy file numbers.
-- Append-only: once landed, never edit this file; add a new migration instead.

-- The number a patient had in the clinic's previous system (CSV import), still searchable.
ALTER TABLE patients ADD COLUMN legacy_mrn TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX patients_legacy_mrn ON patients (legacy_mrn) WHERE legacy_mrn <> '';

-- One row per merge: which record was merged into which, and the merged record as it was,
-- so that the survivor's page can show what was merged and nothing is lost.
CREATE TABLE patient_merges (
    id          TEXT PRIMARY KEY,               -- UUIDv7
    survivor_id TEXT NOT NULL REFERENCES patients (id),
    merged_id   TEXT NOT NULL UNIQUE REFERENCES patients (id),
    merged_mrn  TEXT NOT NULL,
    snapshot    TEXT NOT NULL,                  -- JSON of the merged record before the merge
    reason      TEXT NOT NULL DEFAULT '',
    merged_at   TEXT NOT NULL,
    merged_by   TEXT,
    updated_at  TEXT NOT NULL
) STRICT;
CREATE INDEX patient_merges_survivor ON patient_merges (survivor_id);
