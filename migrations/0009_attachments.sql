-- Attachments of the clinical record: scanned reports, photos, referral letters (PDF, PNG,
-- JPEG, WebP). The row is the metadata and syncs like the rest of the record; the file
-- itself is stored once per content in the data directory under
-- attachments/<first 2 hex of sha256>/<sha256> and does not sync in this version.
-- (visits.follow_up_date already exists since 0007.)
-- Append-only: once landed, never edit this file; add a new migration instead.

CREATE TABLE attachments (
    id             TEXT PRIMARY KEY,           -- UUIDv7
    patient_id     TEXT NOT NULL REFERENCES patients (id),
    visit_id       TEXT REFERENCES visits (id),
    file_name      TEXT NOT NULL,              -- as uploaded, without any folder
    media_type     TEXT NOT NULL,              -- detected from the content: application/pdf, image/png ...
    size_bytes     INTEGER NOT NULL CHECK (size_bytes > 0),
    sha256         TEXT NOT NULL,              -- lowercase hex of the content; names the stored file
    note           TEXT NOT NULL DEFAULT '',
    created_at     TEXT NOT NULL,
    created_by     TEXT,
    updated_at     TEXT NOT NULL,              -- hybrid logical clock
    updated_by     TEXT,
    origin_device  TEXT NOT NULL,
    deleted_at     TEXT
) STRICT;
CREATE INDEX attachments_patient ON attachments (patient_id, created_at);
CREATE INDEX attachments_visit ON attachments (visit_id) WHERE visit_id IS NOT NULL;
