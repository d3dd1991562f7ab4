-- Lab tests gain their LOINC code, the specimen, and reference ranges by sex and age band
-- (JSON, clinical::lab_ranges::RefBand in thousandths); ref_low/ref_high stay the range for
-- anyone no band fits. Synced like the rest of the row.
-- Append-only: once landed, never edit this file; add a new migration instead.

ALTER TABLE lab_tests ADD COLUMN loinc TEXT NOT NULL DEFAULT '';
ALTER TABLE lab_tests ADD COLUMN specimen TEXT NOT NULL DEFAULT '';
ALTER TABLE lab_tests ADD COLUMN ranges TEXT NOT NULL DEFAULT '[]';
