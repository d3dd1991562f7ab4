-- A bulk load's waiting changes, compressed: a batch's JSON array (`changes`) repeats every
-- field name of every record and was nearly half of what a bulk load wrote (the encrypted
-- pages, the WAL, then the database). New batches keep it deflated in `packed` (the same
-- JSON text) and leave `changes` empty; a batch written before this migration keeps its
-- `changes` and no `packed`. Writing a batch out (store::batches) reads either.
-- Append-only: once landed, never edit this file; add a new migration instead.

ALTER TABLE change_batches ADD COLUMN packed BLOB;
