-- Revenue counted by UTC quarter hour as well as by UTC day (issue 17). A clinic's day is
-- rarely a UTC day (Asia/Kolkata's starts at 18:30 UTC), so every revenue figure of "today"
-- and the edges of every other range were read from the invoices, their lines, credit notes
-- and payments themselves: at 1,000,000 patients (700 invoices a day) that is two thousand
-- lines read for each of Home's money tiles. Every clinic's midnight is on a UTC quarter hour
-- (time zones are offset by multiples of 15 minutes), so a range is now its whole UTC days
-- (migration 0028's tables) and the whole quarters around them (these), and the records only
-- for an end off the quarter hours.
--
-- The same summaries as 0028's revenue (kinds of invoice line, invoices, invoices per doctor,
-- credit notes, money moved) with the same conditions and the same triggers, keyed by the
-- quarter of the instant ('YYYY-MM-DDTHH:MM', minutes 00/15/30/45) instead of its day. An
-- instant that does not read as a UTC time is keyed by its first 16 characters: a range
-- compares a quarter key as the records are compared (`reports::pieces::bound`), so the
-- counts and the records agree on any stored text. `reports::summary::verify` recounts them.
-- Append-only: once landed, never edit this file; add a new migration instead.

CREATE VIEW report_revenue_line_quarters AS
    SELECT l.id AS line_id, l.bill_id, l.source, l.source_id,
           CASE WHEN b.finalized_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]*'
                THEN substr(b.finalized_at, 1, 14) || CASE WHEN substr(b.finalized_at, 15, 2) < '15' THEN '00' WHEN substr(b.finalized_at, 15, 2) < '30' THEN '15'
                                               WHEN substr(b.finalized_at, 15, 2) < '45' THEN '30' ELSE '45' END
                ELSE substr(b.finalized_at, 1, 16) END AS quarter,
           COALESCE(l.service_id, '') AS service_id, l.description, l.quantity, l.unit_price_minor,
           l.discount_kind, l.discount_value, l.tax_rate_bp, COALESCE(a.doctor_id, '') AS doctor_id
    FROM bill_lines l
    JOIN bills b ON b.id = l.bill_id
    LEFT JOIN appointments a ON l.source = 'appointment' AND a.id = l.source_id
    WHERE l.deleted_at IS NULL AND b.status = 'final' AND b.deleted_at IS NULL AND b.finalized_at IS NOT NULL;

CREATE TABLE report_revenue_lines_quarter (
    quarter          TEXT NOT NULL,
    service_id       TEXT NOT NULL,
    description      TEXT NOT NULL,
    quantity         INTEGER NOT NULL,
    unit_price_minor INTEGER NOT NULL,
    discount_kind    TEXT NOT NULL,
    discount_value   INTEGER NOT NULL,
    tax_rate_bp      INTEGER NOT NULL,
    doctor_id        TEXT NOT NULL,
    n                INTEGER NOT NULL,
    PRIMARY KEY (quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id)
) STRICT, WITHOUT ROWID;

CREATE VIEW report_invoice_quarters AS
    SELECT DISTINCT bill_id, quarter FROM report_revenue_line_quarters;
CREATE VIEW report_invoice_doctor_quarters AS
    SELECT DISTINCT bill_id, quarter, doctor_id FROM report_revenue_line_quarters;

CREATE TABLE report_invoices_quarter (
    quarter TEXT PRIMARY KEY,
    n       INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE report_invoices_doctor_quarter (
    quarter   TEXT NOT NULL,
    doctor_id TEXT NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (quarter, doctor_id)
) STRICT, WITHOUT ROWID;

CREATE VIEW report_credit_note_quarters AS
    SELECT c.id, c.bill_id,
           CASE WHEN c.created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]*'
                THEN substr(c.created_at, 1, 14) || CASE WHEN substr(c.created_at, 15, 2) < '15' THEN '00' WHEN substr(c.created_at, 15, 2) < '30' THEN '15'
                                               WHEN substr(c.created_at, 15, 2) < '45' THEN '30' ELSE '45' END
                ELSE substr(c.created_at, 1, 16) END AS quarter, c.amount_minor
    FROM credit_notes c JOIN bills b ON b.id = c.bill_id
    WHERE c.deleted_at IS NULL AND b.status = 'final' AND b.deleted_at IS NULL;

CREATE TABLE report_credit_notes_quarter (
    quarter TEXT PRIMARY KEY,
    n       INTEGER NOT NULL,
    amount  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE VIEW report_payment_quarters AS
    SELECT id,
           CASE WHEN received_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]*'
                THEN substr(received_at, 1, 14) || CASE WHEN substr(received_at, 15, 2) < '15' THEN '00' WHEN substr(received_at, 15, 2) < '30' THEN '15'
                                               WHEN substr(received_at, 15, 2) < '45' THEN '30' ELSE '45' END
                ELSE substr(received_at, 1, 16) END AS quarter, mode, kind, amount_minor FROM payments WHERE deleted_at IS NULL;

CREATE TABLE report_payments_quarter (
    quarter TEXT NOT NULL,
    mode    TEXT NOT NULL,
    kind    TEXT NOT NULL,
    n       INTEGER NOT NULL,
    amount  INTEGER NOT NULL,
    PRIMARY KEY (quarter, mode, kind)
) STRICT, WITHOUT ROWID;

INSERT INTO report_revenue_lines_quarter
    SELECT quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, COUNT(*)
    FROM report_revenue_line_quarters
    GROUP BY quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id;
INSERT INTO report_invoices_quarter SELECT quarter, COUNT(*) FROM report_invoice_quarters GROUP BY quarter;
INSERT INTO report_invoices_doctor_quarter SELECT quarter, doctor_id, COUNT(*) FROM report_invoice_doctor_quarters GROUP BY quarter, doctor_id;
INSERT INTO report_credit_notes_quarter SELECT quarter, COUNT(*), SUM(amount_minor) FROM report_credit_note_quarters GROUP BY quarter;
INSERT INTO report_payments_quarter
    SELECT quarter, mode, kind, COUNT(*), SUM(amount_minor) FROM report_payment_quarters GROUP BY quarter, mode, kind;

CREATE TRIGGER report_quarters_bills_before_insert BEFORE INSERT ON bills
BEGIN
    INSERT INTO report_revenue_lines_quarter (quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, -COUNT(*) FROM report_revenue_line_quarters WHERE bill_id = NEW.id GROUP BY quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_quarter (quarter, n)
        SELECT quarter, -COUNT(*) FROM report_invoice_quarters WHERE bill_id = NEW.id GROUP BY quarter
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_quarter (quarter, doctor_id, n)
        SELECT quarter, doctor_id, -COUNT(*) FROM report_invoice_doctor_quarters WHERE bill_id = NEW.id GROUP BY quarter, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_credit_notes_quarter (quarter, n, amount)
        SELECT quarter, -COUNT(*), -SUM(amount_minor) FROM report_credit_note_quarters WHERE bill_id = NEW.id GROUP BY quarter
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;

CREATE TRIGGER report_quarters_bills_after_insert AFTER INSERT ON bills
BEGIN
    INSERT INTO report_revenue_lines_quarter (quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, COUNT(*) FROM report_revenue_line_quarters WHERE bill_id = NEW.id GROUP BY quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_quarter (quarter, n)
        SELECT quarter, COUNT(*) FROM report_invoice_quarters WHERE bill_id = NEW.id GROUP BY quarter
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_quarter (quarter, doctor_id, n)
        SELECT quarter, doctor_id, COUNT(*) FROM report_invoice_doctor_quarters WHERE bill_id = NEW.id GROUP BY quarter, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_credit_notes_quarter (quarter, n, amount)
        SELECT quarter, COUNT(*), SUM(amount_minor) FROM report_credit_note_quarters WHERE bill_id = NEW.id GROUP BY quarter
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;

CREATE TRIGGER report_quarters_bills_before_update BEFORE UPDATE OF status, finalized_at, deleted_at ON bills
BEGIN
    INSERT INTO report_revenue_lines_quarter (quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, -COUNT(*) FROM report_revenue_line_quarters WHERE bill_id = OLD.id GROUP BY quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_revenue_lines_quarter (quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, -COUNT(*) FROM report_revenue_line_quarters WHERE bill_id = NEW.id AND NEW.id IS NOT OLD.id GROUP BY quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_quarter (quarter, n)
        SELECT quarter, -COUNT(*) FROM report_invoice_quarters WHERE bill_id = OLD.id GROUP BY quarter
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_quarter (quarter, n)
        SELECT quarter, -COUNT(*) FROM report_invoice_quarters WHERE bill_id = NEW.id AND NEW.id IS NOT OLD.id GROUP BY quarter
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_quarter (quarter, doctor_id, n)
        SELECT quarter, doctor_id, -COUNT(*) FROM report_invoice_doctor_quarters WHERE bill_id = OLD.id GROUP BY quarter, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_quarter (quarter, doctor_id, n)
        SELECT quarter, doctor_id, -COUNT(*) FROM report_invoice_doctor_quarters WHERE bill_id = NEW.id AND NEW.id IS NOT OLD.id GROUP BY quarter, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_credit_notes_quarter (quarter, n, amount)
        SELECT quarter, -COUNT(*), -SUM(amount_minor) FROM report_credit_note_quarters WHERE bill_id = OLD.id GROUP BY quarter
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
    INSERT INTO report_credit_notes_quarter (quarter, n, amount)
        SELECT quarter, -COUNT(*), -SUM(amount_minor) FROM report_credit_note_quarters WHERE bill_id = NEW.id AND NEW.id IS NOT OLD.id GROUP BY quarter
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;

CREATE TRIGGER report_quarters_bills_after_update AFTER UPDATE OF status, finalized_at, deleted_at ON bills
BEGIN
    INSERT INTO report_revenue_lines_quarter (quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, COUNT(*) FROM report_revenue_line_quarters WHERE bill_id = OLD.id GROUP BY quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_revenue_lines_quarter (quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, COUNT(*) FROM report_revenue_line_quarters WHERE bill_id = NEW.id AND NEW.id IS NOT OLD.id GROUP BY quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_quarter (quarter, n)
        SELECT quarter, COUNT(*) FROM report_invoice_quarters WHERE bill_id = OLD.id GROUP BY quarter
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_quarter (quarter, n)
        SELECT quarter, COUNT(*) FROM report_invoice_quarters WHERE bill_id = NEW.id AND NEW.id IS NOT OLD.id GROUP BY quarter
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_quarter (quarter, doctor_id, n)
        SELECT quarter, doctor_id, COUNT(*) FROM report_invoice_doctor_quarters WHERE bill_id = OLD.id GROUP BY quarter, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_quarter (quarter, doctor_id, n)
        SELECT quarter, doctor_id, COUNT(*) FROM report_invoice_doctor_quarters WHERE bill_id = NEW.id AND NEW.id IS NOT OLD.id GROUP BY quarter, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_credit_notes_quarter (quarter, n, amount)
        SELECT quarter, COUNT(*), SUM(amount_minor) FROM report_credit_note_quarters WHERE bill_id = OLD.id GROUP BY quarter
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
    INSERT INTO report_credit_notes_quarter (quarter, n, amount)
        SELECT quarter, COUNT(*), SUM(amount_minor) FROM report_credit_note_quarters WHERE bill_id = NEW.id AND NEW.id IS NOT OLD.id GROUP BY quarter
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;

CREATE TRIGGER report_quarters_bills_before_delete BEFORE DELETE ON bills
BEGIN
    INSERT INTO report_revenue_lines_quarter (quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, -COUNT(*) FROM report_revenue_line_quarters WHERE bill_id = OLD.id GROUP BY quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_quarter (quarter, n)
        SELECT quarter, -COUNT(*) FROM report_invoice_quarters WHERE bill_id = OLD.id GROUP BY quarter
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_quarter (quarter, doctor_id, n)
        SELECT quarter, doctor_id, -COUNT(*) FROM report_invoice_doctor_quarters WHERE bill_id = OLD.id GROUP BY quarter, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_credit_notes_quarter (quarter, n, amount)
        SELECT quarter, -COUNT(*), -SUM(amount_minor) FROM report_credit_note_quarters WHERE bill_id = OLD.id GROUP BY quarter
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;

CREATE TRIGGER report_quarters_bills_after_delete AFTER DELETE ON bills
BEGIN
    INSERT INTO report_revenue_lines_quarter (quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, COUNT(*) FROM report_revenue_line_quarters WHERE bill_id = OLD.id GROUP BY quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_quarter (quarter, n)
        SELECT quarter, COUNT(*) FROM report_invoice_quarters WHERE bill_id = OLD.id GROUP BY quarter
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_quarter (quarter, doctor_id, n)
        SELECT quarter, doctor_id, COUNT(*) FROM report_invoice_doctor_quarters WHERE bill_id = OLD.id GROUP BY quarter, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_credit_notes_quarter (quarter, n, amount)
        SELECT quarter, COUNT(*), SUM(amount_minor) FROM report_credit_note_quarters WHERE bill_id = OLD.id GROUP BY quarter
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;

CREATE TRIGGER report_quarters_bill_lines_before_insert BEFORE INSERT ON bill_lines
BEGIN
    INSERT INTO report_revenue_lines_quarter (quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, -COUNT(*) FROM report_revenue_line_quarters WHERE line_id = NEW.id GROUP BY quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_quarter (quarter, n)
        SELECT quarter, -COUNT(*) FROM report_invoice_quarters WHERE bill_id = NEW.bill_id GROUP BY quarter
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_quarter (quarter, doctor_id, n)
        SELECT quarter, doctor_id, -COUNT(*) FROM report_invoice_doctor_quarters WHERE bill_id = NEW.bill_id GROUP BY quarter, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER report_quarters_bill_lines_after_insert AFTER INSERT ON bill_lines
BEGIN
    INSERT INTO report_revenue_lines_quarter (quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, COUNT(*) FROM report_revenue_line_quarters WHERE line_id = NEW.id GROUP BY quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_quarter (quarter, n)
        SELECT quarter, COUNT(*) FROM report_invoice_quarters WHERE bill_id = NEW.bill_id GROUP BY quarter
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_quarter (quarter, doctor_id, n)
        SELECT quarter, doctor_id, COUNT(*) FROM report_invoice_doctor_quarters WHERE bill_id = NEW.bill_id GROUP BY quarter, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER report_quarters_bill_lines_before_update BEFORE UPDATE OF bill_id, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, source, source_id, deleted_at ON bill_lines
BEGIN
    INSERT INTO report_revenue_lines_quarter (quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, -COUNT(*) FROM report_revenue_line_quarters WHERE line_id = OLD.id GROUP BY quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_revenue_lines_quarter (quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, -COUNT(*) FROM report_revenue_line_quarters WHERE line_id = NEW.id AND NEW.id IS NOT OLD.id GROUP BY quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_quarter (quarter, n)
        SELECT quarter, -COUNT(*) FROM report_invoice_quarters WHERE bill_id = OLD.bill_id GROUP BY quarter
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_quarter (quarter, n)
        SELECT quarter, -COUNT(*) FROM report_invoice_quarters WHERE bill_id = NEW.bill_id AND NEW.bill_id IS NOT OLD.bill_id GROUP BY quarter
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_quarter (quarter, doctor_id, n)
        SELECT quarter, doctor_id, -COUNT(*) FROM report_invoice_doctor_quarters WHERE bill_id = OLD.bill_id GROUP BY quarter, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_quarter (quarter, doctor_id, n)
        SELECT quarter, doctor_id, -COUNT(*) FROM report_invoice_doctor_quarters WHERE bill_id = NEW.bill_id AND NEW.bill_id IS NOT OLD.bill_id GROUP BY quarter, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER report_quarters_bill_lines_after_update AFTER UPDATE OF bill_id, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, source, source_id, deleted_at ON bill_lines
BEGIN
    INSERT INTO report_revenue_lines_quarter (quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, COUNT(*) FROM report_revenue_line_quarters WHERE line_id = OLD.id GROUP BY quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_revenue_lines_quarter (quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, COUNT(*) FROM report_revenue_line_quarters WHERE line_id = NEW.id AND NEW.id IS NOT OLD.id GROUP BY quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_quarter (quarter, n)
        SELECT quarter, COUNT(*) FROM report_invoice_quarters WHERE bill_id = OLD.bill_id GROUP BY quarter
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_quarter (quarter, n)
        SELECT quarter, COUNT(*) FROM report_invoice_quarters WHERE bill_id = NEW.bill_id AND NEW.bill_id IS NOT OLD.bill_id GROUP BY quarter
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_quarter (quarter, doctor_id, n)
        SELECT quarter, doctor_id, COUNT(*) FROM report_invoice_doctor_quarters WHERE bill_id = OLD.bill_id GROUP BY quarter, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_quarter (quarter, doctor_id, n)
        SELECT quarter, doctor_id, COUNT(*) FROM report_invoice_doctor_quarters WHERE bill_id = NEW.bill_id AND NEW.bill_id IS NOT OLD.bill_id GROUP BY quarter, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER report_quarters_bill_lines_before_delete BEFORE DELETE ON bill_lines
BEGIN
    INSERT INTO report_revenue_lines_quarter (quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, -COUNT(*) FROM report_revenue_line_quarters WHERE line_id = OLD.id GROUP BY quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_quarter (quarter, n)
        SELECT quarter, -COUNT(*) FROM report_invoice_quarters WHERE bill_id = OLD.bill_id GROUP BY quarter
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_quarter (quarter, doctor_id, n)
        SELECT quarter, doctor_id, -COUNT(*) FROM report_invoice_doctor_quarters WHERE bill_id = OLD.bill_id GROUP BY quarter, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER report_quarters_bill_lines_after_delete AFTER DELETE ON bill_lines
BEGIN
    INSERT INTO report_revenue_lines_quarter (quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, COUNT(*) FROM report_revenue_line_quarters WHERE line_id = OLD.id GROUP BY quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_quarter (quarter, n)
        SELECT quarter, COUNT(*) FROM report_invoice_quarters WHERE bill_id = OLD.bill_id GROUP BY quarter
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_quarter (quarter, doctor_id, n)
        SELECT quarter, doctor_id, COUNT(*) FROM report_invoice_doctor_quarters WHERE bill_id = OLD.bill_id GROUP BY quarter, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER report_quarters_appointments_before_insert BEFORE INSERT ON appointments
BEGIN
    INSERT INTO report_revenue_lines_quarter (quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, -COUNT(*) FROM report_revenue_line_quarters WHERE source = 'appointment' AND source_id = NEW.id GROUP BY quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_quarter (quarter, doctor_id, n)
        SELECT quarter, doctor_id, -COUNT(*) FROM (SELECT DISTINCT r.bill_id, r.quarter, r.doctor_id FROM bill_lines x JOIN report_revenue_line_quarters r ON r.bill_id = x.bill_id WHERE x.source = 'appointment' AND x.source_id = NEW.id AND x.deleted_at IS NULL) WHERE true GROUP BY quarter, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER report_quarters_appointments_after_insert AFTER INSERT ON appointments
BEGIN
    INSERT INTO report_revenue_lines_quarter (quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, COUNT(*) FROM report_revenue_line_quarters WHERE source = 'appointment' AND source_id = NEW.id GROUP BY quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_quarter (quarter, doctor_id, n)
        SELECT quarter, doctor_id, COUNT(*) FROM (SELECT DISTINCT r.bill_id, r.quarter, r.doctor_id FROM bill_lines x JOIN report_revenue_line_quarters r ON r.bill_id = x.bill_id WHERE x.source = 'appointment' AND x.source_id = NEW.id AND x.deleted_at IS NULL) WHERE true GROUP BY quarter, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER report_quarters_appointments_before_update BEFORE UPDATE OF doctor_id ON appointments
BEGIN
    INSERT INTO report_revenue_lines_quarter (quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, -COUNT(*) FROM report_revenue_line_quarters WHERE source = 'appointment' AND source_id = OLD.id GROUP BY quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_revenue_lines_quarter (quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, -COUNT(*) FROM report_revenue_line_quarters WHERE source = 'appointment' AND source_id = NEW.id AND NEW.id IS NOT OLD.id GROUP BY quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_quarter (quarter, doctor_id, n)
        SELECT quarter, doctor_id, -COUNT(*) FROM (SELECT DISTINCT r.bill_id, r.quarter, r.doctor_id FROM bill_lines x JOIN report_revenue_line_quarters r ON r.bill_id = x.bill_id WHERE x.source = 'appointment' AND x.source_id = OLD.id AND x.deleted_at IS NULL) WHERE true GROUP BY quarter, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_quarter (quarter, doctor_id, n)
        SELECT quarter, doctor_id, -COUNT(*) FROM (SELECT DISTINCT r.bill_id, r.quarter, r.doctor_id FROM bill_lines x JOIN report_revenue_line_quarters r ON r.bill_id = x.bill_id WHERE x.source = 'appointment' AND x.source_id = NEW.id AND x.deleted_at IS NULL) WHERE true AND NEW.id IS NOT OLD.id GROUP BY quarter, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER report_quarters_appointments_after_update AFTER UPDATE OF doctor_id ON appointments
BEGIN
    INSERT INTO report_revenue_lines_quarter (quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, COUNT(*) FROM report_revenue_line_quarters WHERE source = 'appointment' AND source_id = OLD.id GROUP BY quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_revenue_lines_quarter (quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, COUNT(*) FROM report_revenue_line_quarters WHERE source = 'appointment' AND source_id = NEW.id AND NEW.id IS NOT OLD.id GROUP BY quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_quarter (quarter, doctor_id, n)
        SELECT quarter, doctor_id, COUNT(*) FROM (SELECT DISTINCT r.bill_id, r.quarter, r.doctor_id FROM bill_lines x JOIN report_revenue_line_quarters r ON r.bill_id = x.bill_id WHERE x.source = 'appointment' AND x.source_id = OLD.id AND x.deleted_at IS NULL) WHERE true GROUP BY quarter, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_quarter (quarter, doctor_id, n)
        SELECT quarter, doctor_id, COUNT(*) FROM (SELECT DISTINCT r.bill_id, r.quarter, r.doctor_id FROM bill_lines x JOIN report_revenue_line_quarters r ON r.bill_id = x.bill_id WHERE x.source = 'appointment' AND x.source_id = NEW.id AND x.deleted_at IS NULL) WHERE true AND NEW.id IS NOT OLD.id GROUP BY quarter, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER report_quarters_appointments_before_delete BEFORE DELETE ON appointments
BEGIN
    INSERT INTO report_revenue_lines_quarter (quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, -COUNT(*) FROM report_revenue_line_quarters WHERE source = 'appointment' AND source_id = OLD.id GROUP BY quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_quarter (quarter, doctor_id, n)
        SELECT quarter, doctor_id, -COUNT(*) FROM (SELECT DISTINCT r.bill_id, r.quarter, r.doctor_id FROM bill_lines x JOIN report_revenue_line_quarters r ON r.bill_id = x.bill_id WHERE x.source = 'appointment' AND x.source_id = OLD.id AND x.deleted_at IS NULL) WHERE true GROUP BY quarter, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER report_quarters_appointments_after_delete AFTER DELETE ON appointments
BEGIN
    INSERT INTO report_revenue_lines_quarter (quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, COUNT(*) FROM report_revenue_line_quarters WHERE source = 'appointment' AND source_id = OLD.id GROUP BY quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_quarter (quarter, doctor_id, n)
        SELECT quarter, doctor_id, COUNT(*) FROM (SELECT DISTINCT r.bill_id, r.quarter, r.doctor_id FROM bill_lines x JOIN report_revenue_line_quarters r ON r.bill_id = x.bill_id WHERE x.source = 'appointment' AND x.source_id = OLD.id AND x.deleted_at IS NULL) WHERE true GROUP BY quarter, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER report_quarters_credit_notes_before_insert BEFORE INSERT ON credit_notes
BEGIN
    INSERT INTO report_credit_notes_quarter (quarter, n, amount)
        SELECT quarter, -COUNT(*), -SUM(amount_minor) FROM report_credit_note_quarters WHERE id = NEW.id GROUP BY quarter
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;

CREATE TRIGGER report_quarters_credit_notes_after_insert AFTER INSERT ON credit_notes
BEGIN
    INSERT INTO report_credit_notes_quarter (quarter, n, amount)
        SELECT quarter, COUNT(*), SUM(amount_minor) FROM report_credit_note_quarters WHERE id = NEW.id GROUP BY quarter
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;

CREATE TRIGGER report_quarters_credit_notes_before_update BEFORE UPDATE OF bill_id, created_at, amount_minor, deleted_at ON credit_notes
BEGIN
    INSERT INTO report_credit_notes_quarter (quarter, n, amount)
        SELECT quarter, -COUNT(*), -SUM(amount_minor) FROM report_credit_note_quarters WHERE id = OLD.id GROUP BY quarter
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
    INSERT INTO report_credit_notes_quarter (quarter, n, amount)
        SELECT quarter, -COUNT(*), -SUM(amount_minor) FROM report_credit_note_quarters WHERE id = NEW.id AND NEW.id IS NOT OLD.id GROUP BY quarter
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;

CREATE TRIGGER report_quarters_credit_notes_after_update AFTER UPDATE OF bill_id, created_at, amount_minor, deleted_at ON credit_notes
BEGIN
    INSERT INTO report_credit_notes_quarter (quarter, n, amount)
        SELECT quarter, COUNT(*), SUM(amount_minor) FROM report_credit_note_quarters WHERE id = OLD.id GROUP BY quarter
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
    INSERT INTO report_credit_notes_quarter (quarter, n, amount)
        SELECT quarter, COUNT(*), SUM(amount_minor) FROM report_credit_note_quarters WHERE id = NEW.id AND NEW.id IS NOT OLD.id GROUP BY quarter
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;

CREATE TRIGGER report_quarters_credit_notes_before_delete BEFORE DELETE ON credit_notes
BEGIN
    INSERT INTO report_credit_notes_quarter (quarter, n, amount)
        SELECT quarter, -COUNT(*), -SUM(amount_minor) FROM report_credit_note_quarters WHERE id = OLD.id GROUP BY quarter
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;

CREATE TRIGGER report_quarters_credit_notes_after_delete AFTER DELETE ON credit_notes
BEGIN
    INSERT INTO report_credit_notes_quarter (quarter, n, amount)
        SELECT quarter, COUNT(*), SUM(amount_minor) FROM report_credit_note_quarters WHERE id = OLD.id GROUP BY quarter
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;

CREATE TRIGGER report_quarters_payments_before_insert BEFORE INSERT ON payments
BEGIN
    INSERT INTO report_payments_quarter (quarter, mode, kind, n, amount)
        SELECT quarter, mode, kind, -COUNT(*), -SUM(amount_minor) FROM report_payment_quarters WHERE id = NEW.id GROUP BY quarter, mode, kind
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;

CREATE TRIGGER report_quarters_payments_after_insert AFTER INSERT ON payments
BEGIN
    INSERT INTO report_payments_quarter (quarter, mode, kind, n, amount)
        SELECT quarter, mode, kind, COUNT(*), SUM(amount_minor) FROM report_payment_quarters WHERE id = NEW.id GROUP BY quarter, mode, kind
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;

CREATE TRIGGER report_quarters_payments_before_update BEFORE UPDATE OF received_at, mode, kind, amount_minor, deleted_at ON payments
BEGIN
    INSERT INTO report_payments_quarter (quarter, mode, kind, n, amount)
        SELECT quarter, mode, kind, -COUNT(*), -SUM(amount_minor) FROM report_payment_quarters WHERE id = OLD.id GROUP BY quarter, mode, kind
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
    INSERT INTO report_payments_quarter (quarter, mode, kind, n, amount)
        SELECT quarter, mode, kind, -COUNT(*), -SUM(amount_minor) FROM report_payment_quarters WHERE id = NEW.id AND NEW.id IS NOT OLD.id GROUP BY quarter, mode, kind
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;

CREATE TRIGGER report_quarters_payments_after_update AFTER UPDATE OF received_at, mode, kind, amount_minor, deleted_at ON payments
BEGIN
    INSERT INTO report_payments_quarter (quarter, mode, kind, n, amount)
        SELECT quarter, mode, kind, COUNT(*), SUM(amount_minor) FROM report_payment_quarters WHERE id = OLD.id GROUP BY quarter, mode, kind
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
    INSERT INTO report_payments_quarter (quarter, mode, kind, n, amount)
        SELECT quarter, mode, kind, COUNT(*), SUM(amount_minor) FROM report_payment_quarters WHERE id = NEW.id AND NEW.id IS NOT OLD.id GROUP BY quarter, mode, kind
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;

CREATE TRIGGER report_quarters_payments_before_delete BEFORE DELETE ON payments
BEGIN
    INSERT INTO report_payments_quarter (quarter, mode, kind, n, amount)
        SELECT quarter, mode, kind, -COUNT(*), -SUM(amount_minor) FROM report_payment_quarters WHERE id = OLD.id GROUP BY quarter, mode, kind
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;

CREATE TRIGGER report_quarters_payments_after_delete AFTER DELETE ON payments
BEGIN
    INSERT INTO report_payments_quarter (quarter, mode, kind, n, amount)
        SELECT quarter, mode, kind, COUNT(*), SUM(amount_minor) FROM report_payment_quarters WHERE id = OLD.id GROUP BY quarter, mode, kind
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;
