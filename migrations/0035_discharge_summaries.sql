-- The discharge summary (issue 15): one per admission, written by a doctor during the stay
-- (a draft, saved as often as needed) and finalised at or after the discharge; a finalised
-- summary is never edited. Its id is derived from the admission's, so two devices that both
-- start a patient's summary offline write one row (their fields merge like any row's).
-- Lists are JSON arrays of objects: diagnoses [{code, description, text}], investigations
-- [{lab_result_id, test, value, unit, abnormal, resulted_at, note}], medicines [{medicine_id,
-- name, dose, dose_unit, schedule, days, prn, instructions}]. Allergies are not stored: the
-- summary shows the patient's record as it is.
-- Printouts learn a new kind, the discharge summary, and the admission it belongs to: the
-- table is rebuilt (SQLite cannot change a CHECK); it is local to the device, never synced.
-- Append-only: once landed, never edit this file; add a new migration instead.
CREATE TABLE discharge_summaries (
    id                   TEXT PRIMARY KEY,           -- derived from admission_id (ids::reference_id)
    admission_id         TEXT NOT NULL REFERENCES admissions (id),
    diagnoses            TEXT NOT NULL DEFAULT '[]',
    course               TEXT NOT NULL DEFAULT '',
    procedures           TEXT NOT NULL DEFAULT '',
    investigations       TEXT NOT NULL DEFAULT '[]',
    medicines            TEXT NOT NULL DEFAULT '[]',
    advice               TEXT NOT NULL DEFAULT '',
    follow_up_on         TEXT,                       -- YYYY-MM-DD, the clinic's calendar
    follow_up_doctor_id  TEXT REFERENCES staff (id),
    written_by           TEXT,                       -- users.id: who saved it last
    written_at           TEXT NOT NULL,              -- UTC, RFC 3339 (milliseconds, Z)
    finalised_at         TEXT,
    finalised_by         TEXT,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,              -- hybrid logical clock
    updated_by           TEXT,
    origin_device        TEXT NOT NULL,
    deleted_at           TEXT
) STRICT;
CREATE INDEX discharge_summaries_admission ON discharge_summaries (admission_id);

CREATE TABLE printouts_v2 (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('id_card', 'invoice', 'receipt', 'prescription', 'lab_report',
                                                'visit_summary', 'discharge_summary')),
    reference     TEXT NOT NULL DEFAULT '',
    patient_id    TEXT NOT NULL,
    bill_id       TEXT,
    payment_id    TEXT,
    visit_id      TEXT,
    lab_order_id  TEXT,
    file_name     TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    size_bytes    INTEGER NOT NULL,
    printed_by    TEXT NOT NULL,
    printed_at    TEXT NOT NULL,
    reprint_of    TEXT REFERENCES printouts_v2 (id),  -- renamed with the table below
    admission_id  TEXT                                -- a discharge summary's admission
) STRICT;
INSERT INTO printouts_v2 (id, kind, reference, patient_id, bill_id, payment_id, visit_id, lab_order_id, file_name,
                          sha256, size_bytes, printed_by, printed_at, reprint_of)
    SELECT id, kind, reference, patient_id, bill_id, payment_id, visit_id, lab_order_id, file_name,
           sha256, size_bytes, printed_by, printed_at, reprint_of
    FROM printouts ORDER BY reprint_of IS NOT NULL, printed_at;
DROP TABLE printouts;
ALTER TABLE printouts_v2 RENAME TO printouts;
CREATE INDEX printouts_patient ON printouts (patient_id, printed_at);
CREATE INDEX printouts_bill ON printouts (bill_id, printed_at) WHERE bill_id IS NOT NULL;
CREATE INDEX printouts_visit ON printouts (visit_id, printed_at) WHERE visit_id IS NOT NULL;
CREATE INDEX printouts_file ON printouts (file_name);
CREATE INDEX printouts_admission ON printouts (admission_id, printed_at) WHERE admission_id IS NOT NULL;
