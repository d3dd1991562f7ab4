-- Lab sample collection and cancelled orders (issue 20). An order's sample is collected
-- (who, when) before its result; while its status is still 'ordered', a set `collected_at`
-- is what the app shows as "collected" (the status CHECK cannot be widened without
-- rebuilding the table, which lab_results references). A cancelled order keeps its reason.
-- Synced like the rest of the row.
-- Append-only: once landed, never edit this file; add a new migration instead.
ALTER TABLE lab_orders ADD COLUMN collected_at TEXT;
ALTER TABLE lab_orders ADD COLUMN collected_by TEXT;
ALTER TABLE lab_orders ADD COLUMN cancel_reason TEXT NOT NULL DEFAULT '';
