-- The patient fields that a list of appointments shows (the doctor's week, a day, the queue),
-- in one index keyed by the patient's id: a list reads one page per patient instead of the id
-- index and then the row (two random reads per appointment when the pages are not cached).
-- Append-only: once landed, never edit this file; add a new migration instead.

CREATE INDEX patients_listed ON patients (id, given_name, other_names, family_name, mrn, phones);
