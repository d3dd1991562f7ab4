-- Search indexes: merge segments in the background instead of inside a registration.
-- FTS5's automerge did the merge work inside whichever write crossed a threshold, which
-- made about one registration in a hundred take 10+ ms at a million patients. With it off,
-- the store's maintenance task merges a little at a time (see store/maintenance.rs).
-- Append-only: once landed, never edit this file; add a new migration instead.
INSERT INTO patient_name_fts (patient_name_fts, rank) VALUES ('automerge', 0);
INSERT INTO patient_phone_fts (patient_phone_fts, rank) VALUES ('automerge', 0);
