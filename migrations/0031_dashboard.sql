-- Home's dashboards. What finalised invoices still ask for, kept per invoice by triggers in
-- the same transaction as every write to the bills, payments and credit notes it depends on
-- (a local write, a pulled change applied, a bulk load, a repair in SQL), so that the
-- receivables tile reads the invoices that still ask for something instead of every invoice.
-- Local and derived (never synced); `reports::summary::verify` compares it with a recount.
-- And two indexes for a doctor's Home: follow-ups due by doctor and date, results by when
-- they came back.
-- Append-only: once landed, never edit this file; add a new migration instead.

-- An invoice's due as billing computes it: its total − its credit notes − what was paid
-- (payments and advances, less refunds). Final, not deleted invoices only.
CREATE VIEW report_due_rows AS
    SELECT b.id AS bill_id,
           b.total_minor
             - (SELECT COALESCE(SUM(c.amount_minor), 0) FROM credit_notes c WHERE c.bill_id = b.id AND c.deleted_at IS NULL)
             - (SELECT COALESCE(SUM(CASE WHEN p.kind = 'refund' THEN -p.amount_minor ELSE p.amount_minor END), 0)
                FROM payments p WHERE p.bill_id = b.id AND p.deleted_at IS NULL) AS due
    FROM bills b
    WHERE b.status = 'final' AND b.deleted_at IS NULL;

-- One row per invoice whose due is not 0 (overpaid ones are negative: kept, not counted).
CREATE TABLE report_dues (
    bill_id TEXT PRIMARY KEY,
    due     INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

INSERT INTO report_dues (bill_id, due) SELECT bill_id, due FROM report_due_rows WHERE due <> 0;

-- Each write recomputes the due of the invoice(s) it touches: the old row's and the new one's.

CREATE TRIGGER report_dues_bills_insert AFTER INSERT ON bills
BEGIN
    DELETE FROM report_dues WHERE bill_id = NEW.id;
    INSERT INTO report_dues (bill_id, due) SELECT bill_id, due FROM report_due_rows WHERE bill_id = NEW.id AND due <> 0;
END;

CREATE TRIGGER report_dues_bills_update AFTER UPDATE OF id, status, total_minor, deleted_at ON bills
BEGIN
    DELETE FROM report_dues WHERE bill_id IN (OLD.id, NEW.id);
    INSERT INTO report_dues (bill_id, due)
        SELECT bill_id, due FROM report_due_rows WHERE bill_id IN (OLD.id, NEW.id) AND due <> 0;
END;

CREATE TRIGGER report_dues_bills_delete AFTER DELETE ON bills
BEGIN
    DELETE FROM report_dues WHERE bill_id = OLD.id;
END;

CREATE TRIGGER report_dues_payments_insert AFTER INSERT ON payments
BEGIN
    DELETE FROM report_dues WHERE bill_id = NEW.bill_id;
    INSERT INTO report_dues (bill_id, due) SELECT bill_id, due FROM report_due_rows WHERE bill_id = NEW.bill_id AND due <> 0;
END;

CREATE TRIGGER report_dues_payments_update AFTER UPDATE OF bill_id, kind, amount_minor, deleted_at ON payments
BEGIN
    DELETE FROM report_dues WHERE bill_id IN (OLD.bill_id, NEW.bill_id);
    INSERT INTO report_dues (bill_id, due)
        SELECT bill_id, due FROM report_due_rows WHERE bill_id IN (OLD.bill_id, NEW.bill_id) AND due <> 0;
END;

CREATE TRIGGER report_dues_payments_delete AFTER DELETE ON payments
BEGIN
    DELETE FROM report_dues WHERE bill_id = OLD.bill_id;
    INSERT INTO report_dues (bill_id, due) SELECT bill_id, due FROM report_due_rows WHERE bill_id = OLD.bill_id AND due <> 0;
END;

CREATE TRIGGER report_dues_credit_notes_insert AFTER INSERT ON credit_notes
BEGIN
    DELETE FROM report_dues WHERE bill_id = NEW.bill_id;
    INSERT INTO report_dues (bill_id, due) SELECT bill_id, due FROM report_due_rows WHERE bill_id = NEW.bill_id AND due <> 0;
END;

CREATE TRIGGER report_dues_credit_notes_update AFTER UPDATE OF bill_id, amount_minor, deleted_at ON credit_notes
BEGIN
    DELETE FROM report_dues WHERE bill_id IN (OLD.bill_id, NEW.bill_id);
    INSERT INTO report_dues (bill_id, due)
        SELECT bill_id, due FROM report_due_rows WHERE bill_id IN (OLD.bill_id, NEW.bill_id) AND due <> 0;
END;

CREATE TRIGGER report_dues_credit_notes_delete AFTER DELETE ON credit_notes
BEGIN
    DELETE FROM report_dues WHERE bill_id = OLD.bill_id;
    INSERT INTO report_dues (bill_id, due) SELECT bill_id, due FROM report_due_rows WHERE bill_id = OLD.bill_id AND due <> 0;
END;

CREATE INDEX visits_follow_up ON visits (doctor_id, follow_up_date)
    WHERE follow_up_date IS NOT NULL AND deleted_at IS NULL;
CREATE INDEX lab_results_resulted ON lab_results (resulted_at);
