-- How often the clinic has used each ICD-10 code: the diagnosis search lifts a clinic's own
-- most-used codes (clinical::icd10_rank) by counting its coded diagnoses per candidate code.
-- Append-only: once landed, never edit this file; add a new migration instead.

CREATE INDEX diagnoses_icd10 ON diagnoses (icd10, deleted_at) WHERE icd10 IS NOT NULL;
