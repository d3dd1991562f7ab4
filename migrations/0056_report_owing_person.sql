-- Receivables by age (issue 17) groups the invoices owing by person: at 1,000,000 patients
-- 75,000 of them (72,000 people), which SQLite sorted on every run (about 100 ms of the
-- report's 350–530 ms). Read through this index a person's invoices come together, and the
-- sums per person are made as they are read (`reports::receivables`).
-- Append-only: once landed, never edit this file; add a new migration instead.

CREATE INDEX report_owing_person ON report_owing (person, finalized_at, due);
