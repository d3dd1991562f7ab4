-- Every PDF printed on this device (issue 20): what it was, whose record it belongs to, the
-- file saved in the exports folder, who printed it and when. LOCAL: the file exists only on
-- this device, so the table carries no sync columns and is never sent to the server. Written
-- in the same transaction as the print's audit entry.
-- Append-only: once landed, never edit this file; add a new migration instead.
CREATE TABLE printouts (
    id            TEXT PRIMARY KEY,          -- UUIDv7
    kind          TEXT NOT NULL CHECK (kind IN ('id_card', 'invoice', 'receipt', 'prescription', 'lab_report', 'visit_summary')),
    reference     TEXT NOT NULL DEFAULT '',  -- invoice or receipt number, MRN, lab report/requisition
    patient_id    TEXT NOT NULL,
    bill_id       TEXT,
    payment_id    TEXT,
    visit_id      TEXT,
    lab_order_id  TEXT,
    file_name     TEXT NOT NULL,             -- inside the exports folder, never a path
    sha256        TEXT NOT NULL,             -- of the PDF as saved, lowercase hex
    size_bytes    INTEGER NOT NULL,
    printed_by    TEXT NOT NULL,             -- users.id
    printed_at    TEXT NOT NULL,             -- UTC, RFC 3339
    reprint_of    TEXT REFERENCES printouts (id)
) STRICT;
CREATE INDEX printouts_patient ON printouts (patient_id, printed_at);
CREATE INDEX printouts_bill ON printouts (bill_id, printed_at) WHERE bill_id IS NOT NULL;
CREATE INDEX printouts_visit ON printouts (visit_id, printed_at) WHERE visit_id IS NOT NULL;
CREATE INDEX printouts_file ON printouts (file_name);
