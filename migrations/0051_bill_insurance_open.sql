-- The insurance claims still open (awaiting a decision, or approved and not all settled), for
-- the administrator's Home (issue 17): the tile looked up every final invoice's claims to find
-- the open ones (1.1 s at 500,000 invoices, with no claim at all); it now reads this index and
-- looks up each open claim's invoice.
-- Append-only: once landed, never edit this file; add a new migration instead.

CREATE INDEX bill_insurance_open ON bill_insurance (bill_id)
    WHERE deleted_at IS NULL AND ((approved_minor = 0 AND claimed_minor > 0) OR settled_minor < approved_minor);
