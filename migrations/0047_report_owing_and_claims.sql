-- Two summaries for the reports at a large register (issue 17), local and derived (never
-- synced), kept by triggers in the same transaction as every write they depend on (a local
-- write, a pulled change applied, a bulk load, a repair in SQL); `reports::summary::verify`
-- compares each with a recount from the records.
--
-- report_owing: every invoice `report_dues` holds (a due that is not 0), with the person it
-- belongs to (a merged duplicate's survivor) and when it was finalised, so that receivables
-- ageing groups the dues by person and band in SQL instead of looking up each invoice, its
-- payments, its credit notes and its patient.
--
-- report_claims_day: insurance claims on final invoices by the UTC day the claim was
-- recorded and the payer's name (trimmed): the claims by insurer over a year read a few
-- thousand rows instead of every claim ever made.
-- Append-only: once landed, never edit this file; add a new migration instead.

CREATE VIEW report_owing_rows AS
    SELECT d.bill_id, COALESCE(p.merged_into, p.id) AS person, COALESCE(b.finalized_at, '') AS finalized_at, d.due
    FROM report_dues d JOIN bills b ON b.id = d.bill_id JOIN patients p ON p.id = b.patient_id;

CREATE TABLE report_owing (
    bill_id      TEXT PRIMARY KEY,
    person       TEXT NOT NULL,
    finalized_at TEXT NOT NULL,
    due          INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

INSERT INTO report_owing (bill_id, person, finalized_at, due) SELECT bill_id, person, finalized_at, due FROM report_owing_rows;

-- `report_dues` changes by a delete and an insert for each write it follows (migration 0031).
CREATE TRIGGER report_owing_dues_insert AFTER INSERT ON report_dues
BEGIN
    DELETE FROM report_owing WHERE bill_id = NEW.bill_id;
    INSERT INTO report_owing (bill_id, person, finalized_at, due)
        SELECT bill_id, person, finalized_at, due FROM report_owing_rows WHERE bill_id = NEW.bill_id;
END;

CREATE TRIGGER report_owing_dues_update AFTER UPDATE ON report_dues
BEGIN
    DELETE FROM report_owing WHERE bill_id IN (OLD.bill_id, NEW.bill_id);
    INSERT INTO report_owing (bill_id, person, finalized_at, due)
        SELECT bill_id, person, finalized_at, due FROM report_owing_rows WHERE bill_id IN (OLD.bill_id, NEW.bill_id);
END;

CREATE TRIGGER report_owing_dues_delete AFTER DELETE ON report_dues
BEGIN
    DELETE FROM report_owing WHERE bill_id = OLD.bill_id;
END;

-- An invoice moved to another record, or its finalisation time set again.
CREATE TRIGGER report_owing_bills_update AFTER UPDATE OF patient_id, finalized_at ON bills
BEGIN
    DELETE FROM report_owing WHERE bill_id IN (OLD.id, NEW.id);
    INSERT INTO report_owing (bill_id, person, finalized_at, due)
        SELECT bill_id, person, finalized_at, due FROM report_owing_rows WHERE bill_id IN (OLD.id, NEW.id);
END;

-- A record merged (or a merge undone): its invoices are its survivor's now.
CREATE TRIGGER report_owing_patients_update AFTER UPDATE OF merged_into ON patients
WHEN OLD.merged_into IS NOT NEW.merged_into
BEGIN
    UPDATE report_owing SET person = COALESCE(NEW.merged_into, NEW.id)
    WHERE bill_id IN (SELECT id FROM bills WHERE patient_id = NEW.id);
END;

-- Claims: a claim counts when it and its invoice are not deleted and the invoice is final.
CREATE INDEX bill_insurance_created ON bill_insurance (created_at);

CREATE VIEW report_claim_rows AS
    SELECT i.bill_id, substr(i.created_at, 1, 10) AS day, TRIM(i.payer) AS payer,
           CASE WHEN i.approved_minor = 0 THEN 1 ELSE 0 END AS awaiting,
           i.claimed_minor AS claimed, i.approved_minor AS approved,
           CASE WHEN i.approved_minor > 0 THEN i.claimed_minor - i.approved_minor ELSE 0 END AS rejected,
           i.settled_minor AS settled
    FROM bill_insurance i JOIN bills b ON b.id = i.bill_id
    WHERE i.deleted_at IS NULL AND b.status = 'final' AND b.deleted_at IS NULL;

CREATE TABLE report_claims_day (
    day      TEXT NOT NULL,
    payer    TEXT NOT NULL,
    n        INTEGER NOT NULL,
    awaiting INTEGER NOT NULL,
    claimed  INTEGER NOT NULL,
    approved INTEGER NOT NULL,
    rejected INTEGER NOT NULL,
    settled  INTEGER NOT NULL,
    PRIMARY KEY (day, payer)
) STRICT, WITHOUT ROWID;

INSERT INTO report_claims_day (day, payer, n, awaiting, claimed, approved, rejected, settled)
    SELECT day, payer, COUNT(*), SUM(awaiting), SUM(claimed), SUM(approved), SUM(rejected), SUM(settled)
    FROM report_claim_rows GROUP BY day, payer;

-- As in migration 0028: BEFORE a write the claims it touches are taken out of the summary,
-- AFTER it they are put back as they now are (the same upsert with the sign turned).

CREATE TRIGGER report_claims_insurance_after_insert AFTER INSERT ON bill_insurance
BEGIN
    INSERT INTO report_claims_day (day, payer, n, awaiting, claimed, approved, rejected, settled)
        SELECT day, payer, COUNT(*), SUM(awaiting), SUM(claimed), SUM(approved), SUM(rejected), SUM(settled)
        FROM report_claim_rows WHERE bill_id = NEW.bill_id GROUP BY day, payer
        ON CONFLICT DO UPDATE SET n = n + excluded.n, awaiting = awaiting + excluded.awaiting,
            claimed = claimed + excluded.claimed, approved = approved + excluded.approved,
            rejected = rejected + excluded.rejected, settled = settled + excluded.settled;
END;

CREATE TRIGGER report_claims_insurance_before_update BEFORE UPDATE ON bill_insurance
BEGIN
    INSERT INTO report_claims_day (day, payer, n, awaiting, claimed, approved, rejected, settled)
        SELECT day, payer, -COUNT(*), -SUM(awaiting), -SUM(claimed), -SUM(approved), -SUM(rejected), -SUM(settled)
        FROM report_claim_rows WHERE bill_id IN (OLD.bill_id, NEW.bill_id) GROUP BY day, payer
        ON CONFLICT DO UPDATE SET n = n + excluded.n, awaiting = awaiting + excluded.awaiting,
            claimed = claimed + excluded.claimed, approved = approved + excluded.approved,
            rejected = rejected + excluded.rejected, settled = settled + excluded.settled;
END;

CREATE TRIGGER report_claims_insurance_after_update AFTER UPDATE ON bill_insurance
BEGIN
    INSERT INTO report_claims_day (day, payer, n, awaiting, claimed, approved, rejected, settled)
        SELECT day, payer, COUNT(*), SUM(awaiting), SUM(claimed), SUM(approved), SUM(rejected), SUM(settled)
        FROM report_claim_rows WHERE bill_id IN (OLD.bill_id, NEW.bill_id) GROUP BY day, payer
        ON CONFLICT DO UPDATE SET n = n + excluded.n, awaiting = awaiting + excluded.awaiting,
            claimed = claimed + excluded.claimed, approved = approved + excluded.approved,
            rejected = rejected + excluded.rejected, settled = settled + excluded.settled;
END;

CREATE TRIGGER report_claims_insurance_before_delete BEFORE DELETE ON bill_insurance
BEGIN
    INSERT INTO report_claims_day (day, payer, n, awaiting, claimed, approved, rejected, settled)
        SELECT day, payer, -COUNT(*), -SUM(awaiting), -SUM(claimed), -SUM(approved), -SUM(rejected), -SUM(settled)
        FROM report_claim_rows WHERE bill_id = OLD.bill_id GROUP BY day, payer
        ON CONFLICT DO UPDATE SET n = n + excluded.n, awaiting = awaiting + excluded.awaiting,
            claimed = claimed + excluded.claimed, approved = approved + excluded.approved,
            rejected = rejected + excluded.rejected, settled = settled + excluded.settled;
END;

-- An invoice finalised, cancelled or deleted (or given another id): its claim in or out.
CREATE TRIGGER report_claims_bills_before_update BEFORE UPDATE OF id, status, deleted_at ON bills
BEGIN
    INSERT INTO report_claims_day (day, payer, n, awaiting, claimed, approved, rejected, settled)
        SELECT day, payer, -COUNT(*), -SUM(awaiting), -SUM(claimed), -SUM(approved), -SUM(rejected), -SUM(settled)
        FROM report_claim_rows WHERE bill_id IN (OLD.id, NEW.id) GROUP BY day, payer
        ON CONFLICT DO UPDATE SET n = n + excluded.n, awaiting = awaiting + excluded.awaiting,
            claimed = claimed + excluded.claimed, approved = approved + excluded.approved,
            rejected = rejected + excluded.rejected, settled = settled + excluded.settled;
END;

CREATE TRIGGER report_claims_bills_after_update AFTER UPDATE OF id, status, deleted_at ON bills
BEGIN
    INSERT INTO report_claims_day (day, payer, n, awaiting, claimed, approved, rejected, settled)
        SELECT day, payer, COUNT(*), SUM(awaiting), SUM(claimed), SUM(approved), SUM(rejected), SUM(settled)
        FROM report_claim_rows WHERE bill_id IN (OLD.id, NEW.id) GROUP BY day, payer
        ON CONFLICT DO UPDATE SET n = n + excluded.n, awaiting = awaiting + excluded.awaiting,
            claimed = claimed + excluded.claimed, approved = approved + excluded.approved,
            rejected = rejected + excluded.rejected, settled = settled + excluded.settled;
END;

-- With foreign keys on, a claim never comes before its invoice; these two keep the summary
-- right when they were off (a repair in SQL).
CREATE TRIGGER report_claims_bills_after_insert AFTER INSERT ON bills
BEGIN
    INSERT INTO report_claims_day (day, payer, n, awaiting, claimed, approved, rejected, settled)
        SELECT day, payer, COUNT(*), SUM(awaiting), SUM(claimed), SUM(approved), SUM(rejected), SUM(settled)
        FROM report_claim_rows WHERE bill_id = NEW.id GROUP BY day, payer
        ON CONFLICT DO UPDATE SET n = n + excluded.n, awaiting = awaiting + excluded.awaiting,
            claimed = claimed + excluded.claimed, approved = approved + excluded.approved,
            rejected = rejected + excluded.rejected, settled = settled + excluded.settled;
END;

CREATE TRIGGER report_claims_bills_before_delete BEFORE DELETE ON bills
BEGIN
    INSERT INTO report_claims_day (day, payer, n, awaiting, claimed, approved, rejected, settled)
        SELECT day, payer, -COUNT(*), -SUM(awaiting), -SUM(claimed), -SUM(approved), -SUM(rejected), -SUM(settled)
        FROM report_claim_rows WHERE bill_id = OLD.id GROUP BY day, payer
        ON CONFLICT DO UPDATE SET n = n + excluded.n, awaiting = awaiting + excluded.awaiting,
            claimed = claimed + excluded.claimed, approved = approved + excluded.approved,
            rejected = rejected + excluded.rejected, settled = settled + excluded.settled;
END;
