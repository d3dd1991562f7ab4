-- Receivables by age (issue 17) as of a past day adds back what moved since (payments,
-- refunds, credit notes). It read the payments through their index by time and then each
-- payment's row, scattered over the table (the week since the 1st at 1,000,000 patients:
-- 4,680 rows, 100–140 ms on a connection whose page cache did not hold them), and every
-- credit note. These indexes hold what is read, in time order. The collections on the
-- administrator's Home read the payments at the day's edges the same way and take the same
-- index.
-- Append-only: once landed, never edit this file; add a new migration instead.

CREATE INDEX payments_moved ON payments (received_at, bill_id, kind, mode, amount_minor) WHERE deleted_at IS NULL;
CREATE INDEX credit_notes_moved ON credit_notes (created_at, bill_id, amount_minor) WHERE deleted_at IS NULL;
