-- Search indexes: a bulk load's entries become one segment, not one per MiB.
-- FTS5 keeps a write's new entries in memory and writes them out as a new segment at commit,
-- or whenever they pass 'hashsize' (1 MiB by default): a load of 200,000 patients wrote
-- about six segments per index, which FTS5 then merged again while the load went on and
-- which the load then had to merge into the rest of the index at its end. With 16 MiB (a
-- load of 200,000 patients holds about 7 MiB), a load adds one segment per index, and the
-- background upkeep merges it into the rest a slice at a time (store::spawn_checkpointer),
-- as it does after any registration. A single registration holds a few hundred bytes.
-- Append-only: once landed, never edit this file; add a new migration instead.
INSERT INTO patient_name_fts (patient_name_fts, rank) VALUES ('hashsize', 16777216);
INSERT INTO patient_phone_fts (patient_phone_fts, rank) VALUES ('hashsize', 16777216);
