-- Printouts learn a new kind, the pharmacy's dispensing labels (issue 16): the labels of what
-- was dispensed to a patient at one go, their `reference` a dispensing of that go. The table
-- is rebuilt (SQLite cannot change a CHECK); it is local to the device, never synced.
-- Append-only: once landed, never edit this file; add a new migration instead.
CREATE TABLE printouts_v3 (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('id_card', 'invoice', 'receipt', 'prescription', 'lab_report',
                                                'visit_summary', 'discharge_summary', 'dispensing_labels')),
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
    reprint_of    TEXT REFERENCES printouts_v3 (id),  -- renamed with the table below
    admission_id  TEXT
) STRICT;
INSERT INTO printouts_v3 (id, kind, reference, patient_id, bill_id, payment_id, visit_id, lab_order_id, file_name,
                          sha256, size_bytes, printed_by, printed_at, reprint_of, admission_id)
    SELECT id, kind, reference, patient_id, bill_id, payment_id, visit_id, lab_order_id, file_name,
           sha256, size_bytes, printed_by, printed_at, reprint_of, admission_id
    FROM printouts ORDER BY reprint_of IS NOT NULL, printed_at;
DROP TABLE printouts;
ALTER TABLE printouts_v3 RENAME TO printouts;
CREATE INDEX printouts_patient ON printouts (patient_id, printed_at);
CREATE INDEX printouts_bill ON printouts (bill_id, printed_at) WHERE bill_id IS NOT NULL;
CREATE INDEX printouts_visit ON printouts (visit_id, printed_at) WHERE visit_id IS NOT NULL;
CREATE INDEX printouts_file ON printouts (file_name);
CREATE INDEX printouts_admission ON printouts (admission_id, printed_at) WHERE admission_id IS NOT NULL;
