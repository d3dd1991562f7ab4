-- Reports over a period: appointments by their local date, and patients by when they were
-- registered, without reading the whole table (a month's report reads a month's rows). Each
-- index holds the columns its reports count by, so that counting reads the index alone.
-- Append-only: once landed, never edit this file; add a new migration instead.

CREATE INDEX appointments_date ON appointments (date, doctor_id, status, deleted_at, patient_id);
CREATE INDEX patients_created ON patients (created_at, status, deleted_at, sex, birth_date);
