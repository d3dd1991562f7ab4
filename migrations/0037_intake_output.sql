-- Intake and output charting (issue 15), and the visit an admission came from.
-- Entries are append-only: a wrong one is corrected by a new entry that names it in voids_id
-- with a reason (the correction carries the right values, or 0 ml). Two corrections of one
-- entry can meet after a sync: the first recorded (the smaller UUIDv7 id) counts, the other is
-- shown as a duplicate (inpatients::intake_output). Volumes in millilitres.
-- Append-only: once landed, never edit this file; add a new migration instead.
CREATE TABLE intake_output (
    id              TEXT PRIMARY KEY,           -- UUIDv7
    admission_id    TEXT NOT NULL REFERENCES admissions (id),
    direction       TEXT NOT NULL CHECK (direction IN ('intake', 'output')),
    kind            TEXT NOT NULL CHECK (
                        (direction = 'intake' AND kind IN ('oral', 'iv', 'feed', 'other'))
                        OR (direction = 'output' AND kind IN ('urine', 'drain', 'vomit', 'stool', 'other'))),
    volume_ml       INTEGER NOT NULL CHECK (volume_ml BETWEEN 0 AND 5000),
    at              TEXT NOT NULL,              -- UTC, RFC 3339 (milliseconds, Z): taken in or measured
    note            TEXT NOT NULL DEFAULT '',
    recorded_by     TEXT,                       -- users.id
    voids_id        TEXT REFERENCES intake_output (id),  -- a correction: the entry it replaces
    void_reason     TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,              -- hybrid logical clock
    updated_by      TEXT,
    origin_device   TEXT NOT NULL,
    deleted_at      TEXT
) STRICT;
CREATE INDEX intake_output_admission ON intake_output (admission_id, at);

-- The doctor's "Admit" from a visit keeps the visit (NULL for an admission from the queue or
-- the patient's page).
ALTER TABLE admissions ADD COLUMN visit_id TEXT REFERENCES visits (id);
