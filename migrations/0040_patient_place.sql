-- Where a patient lives, structured: the city (or town, village) and the district, each
-- optional ('' when not given), next to the free-text address. Synced like the other patient
-- fields. The index lets "patients by city/district" count a period's registrations from the
-- index alone, as patients_created does for the other patient reports.
-- Append-only: once landed, never edit this file; add a new migration instead.

ALTER TABLE patients ADD COLUMN city TEXT NOT NULL DEFAULT '';
ALTER TABLE patients ADD COLUMN district TEXT NOT NULL DEFAULT '';

CREATE INDEX patients_created_place ON patients (created_at, status, deleted_at, district, city);
