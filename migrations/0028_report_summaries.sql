-- Report summaries: appointments counted by day (and by month) x doctor x status, and the
-- waits from check-in to being called in as a histogram of whole minutes by day (and by
-- month) x doctor. Local derived tables (never synced): the triggers below keep them equal to
-- a recount of `appointments` in the same transaction as every write to it, whatever wrote it
-- (a local write, a pulled change applied, a merge, a bulk import, a delete). A year's report
-- reads twelve months' rows and the days at its edges instead of every appointment.
-- A row whose count fell to 0 stays (harmless to a sum); the recount test ignores them.
-- Append-only: once landed, never edit this file; add a new migration instead.

CREATE TABLE report_appointments_day (
    date      TEXT NOT NULL,              -- the appointment's clinic local date
    doctor_id TEXT NOT NULL,
    status    TEXT NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (date, doctor_id, status)
) STRICT, WITHOUT ROWID;

CREATE TABLE report_appointments_month (
    month     TEXT NOT NULL,              -- YYYY-MM of the local date
    doctor_id TEXT NOT NULL,
    status    TEXT NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (month, doctor_id, status)
) STRICT, WITHOUT ROWID;

-- Waits: whole minutes between the recorded seconds of check-in and call (a wait that does
-- not read, or is negative, is not counted), as the report has always counted them: the
-- histogram holds every wait, so a median or percentile read from it is exact.
CREATE TABLE report_waits_day (
    date      TEXT NOT NULL,
    doctor_id TEXT NOT NULL,
    minutes   INTEGER NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (date, doctor_id, minutes)
) STRICT, WITHOUT ROWID;

CREATE TABLE report_waits_month (
    month     TEXT NOT NULL,
    doctor_id TEXT NOT NULL,
    minutes   INTEGER NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (month, doctor_id, minutes)
) STRICT, WITHOUT ROWID;

-- What exists now.
INSERT INTO report_appointments_day (date, doctor_id, status, n)
    SELECT date, doctor_id, status, COUNT(*) FROM appointments WHERE deleted_at IS NULL
    GROUP BY date, doctor_id, status;
INSERT INTO report_appointments_month (month, doctor_id, status, n)
    SELECT substr(date, 1, 7), doctor_id, status, SUM(n) FROM report_appointments_day
    GROUP BY substr(date, 1, 7), doctor_id, status;
INSERT INTO report_waits_day (date, doctor_id, minutes, n)
    SELECT date, doctor_id, (strftime('%s', called_at) - strftime('%s', checked_in_at)) / 60 AS m, COUNT(*)
    FROM appointments
    WHERE deleted_at IS NULL AND strftime('%s', called_at) - strftime('%s', checked_in_at) >= 0
    GROUP BY date, doctor_id, m;
INSERT INTO report_waits_month (month, doctor_id, minutes, n)
    SELECT substr(date, 1, 7), doctor_id, minutes, SUM(n) FROM report_waits_day
    GROUP BY substr(date, 1, 7), doctor_id, minutes;

-- An appointment counts while it is not deleted. Every change takes the old row's counts
-- out and puts the new row's in (in either order: adding and taking one are commutative).

CREATE TRIGGER report_appointments_insert AFTER INSERT ON appointments WHEN NEW.deleted_at IS NULL
BEGIN
    INSERT INTO report_appointments_day (date, doctor_id, status, n) VALUES (NEW.date, NEW.doctor_id, NEW.status, 1)
        ON CONFLICT DO UPDATE SET n = n + 1;
    INSERT INTO report_appointments_month (month, doctor_id, status, n)
        VALUES (substr(NEW.date, 1, 7), NEW.doctor_id, NEW.status, 1)
        ON CONFLICT DO UPDATE SET n = n + 1;
    INSERT INTO report_waits_day (date, doctor_id, minutes, n)
        SELECT NEW.date, NEW.doctor_id, w / 60, 1
        FROM (SELECT strftime('%s', NEW.called_at) - strftime('%s', NEW.checked_in_at) AS w) WHERE w >= 0
        ON CONFLICT DO UPDATE SET n = n + 1;
    INSERT INTO report_waits_month (month, doctor_id, minutes, n)
        SELECT substr(NEW.date, 1, 7), NEW.doctor_id, w / 60, 1
        FROM (SELECT strftime('%s', NEW.called_at) - strftime('%s', NEW.checked_in_at) AS w) WHERE w >= 0
        ON CONFLICT DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER report_appointments_update_new
AFTER UPDATE OF date, doctor_id, status, deleted_at, checked_in_at, called_at ON appointments
WHEN NEW.deleted_at IS NULL
BEGIN
    INSERT INTO report_appointments_day (date, doctor_id, status, n) VALUES (NEW.date, NEW.doctor_id, NEW.status, 1)
        ON CONFLICT DO UPDATE SET n = n + 1;
    INSERT INTO report_appointments_month (month, doctor_id, status, n)
        VALUES (substr(NEW.date, 1, 7), NEW.doctor_id, NEW.status, 1)
        ON CONFLICT DO UPDATE SET n = n + 1;
    INSERT INTO report_waits_day (date, doctor_id, minutes, n)
        SELECT NEW.date, NEW.doctor_id, w / 60, 1
        FROM (SELECT strftime('%s', NEW.called_at) - strftime('%s', NEW.checked_in_at) AS w) WHERE w >= 0
        ON CONFLICT DO UPDATE SET n = n + 1;
    INSERT INTO report_waits_month (month, doctor_id, minutes, n)
        SELECT substr(NEW.date, 1, 7), NEW.doctor_id, w / 60, 1
        FROM (SELECT strftime('%s', NEW.called_at) - strftime('%s', NEW.checked_in_at) AS w) WHERE w >= 0
        ON CONFLICT DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER report_appointments_update_old
AFTER UPDATE OF date, doctor_id, status, deleted_at, checked_in_at, called_at ON appointments
WHEN OLD.deleted_at IS NULL
BEGIN
    UPDATE report_appointments_day SET n = n - 1
        WHERE date = OLD.date AND doctor_id = OLD.doctor_id AND status = OLD.status;
    UPDATE report_appointments_month SET n = n - 1
        WHERE month = substr(OLD.date, 1, 7) AND doctor_id = OLD.doctor_id AND status = OLD.status;
    UPDATE report_waits_day SET n = n - 1
        WHERE date = OLD.date AND doctor_id = OLD.doctor_id
          AND minutes = (strftime('%s', OLD.called_at) - strftime('%s', OLD.checked_in_at)) / 60
          AND strftime('%s', OLD.called_at) - strftime('%s', OLD.checked_in_at) >= 0;
    UPDATE report_waits_month SET n = n - 1
        WHERE month = substr(OLD.date, 1, 7) AND doctor_id = OLD.doctor_id
          AND minutes = (strftime('%s', OLD.called_at) - strftime('%s', OLD.checked_in_at)) / 60
          AND strftime('%s', OLD.called_at) - strftime('%s', OLD.checked_in_at) >= 0;
END;

CREATE TRIGGER report_appointments_delete AFTER DELETE ON appointments WHEN OLD.deleted_at IS NULL
BEGIN
    UPDATE report_appointments_day SET n = n - 1
        WHERE date = OLD.date AND doctor_id = OLD.doctor_id AND status = OLD.status;
    UPDATE report_appointments_month SET n = n - 1
        WHERE month = substr(OLD.date, 1, 7) AND doctor_id = OLD.doctor_id AND status = OLD.status;
    UPDATE report_waits_day SET n = n - 1
        WHERE date = OLD.date AND doctor_id = OLD.doctor_id
          AND minutes = (strftime('%s', OLD.called_at) - strftime('%s', OLD.checked_in_at)) / 60
          AND strftime('%s', OLD.called_at) - strftime('%s', OLD.checked_in_at) >= 0;
    UPDATE report_waits_month SET n = n - 1
        WHERE month = substr(OLD.date, 1, 7) AND doctor_id = OLD.doctor_id
          AND minutes = (strftime('%s', OLD.called_at) - strftime('%s', OLD.checked_in_at)) / 60
          AND strftime('%s', OLD.called_at) - strftime('%s', OLD.checked_in_at) >= 0;
END;

-- Revenue: finalised invoices, their lines, credit notes and money moved, counted by the UTC
-- day of the instant the report goes by (`finalized_at`, `created_at`, `received_at`). A
-- report takes the whole UTC days inside its range from here and the hours at its edges
-- (the clinic's midnight is rarely UTC's) from the records themselves.
--
-- Each summary is a view of what counts (the report's own conditions) and a table of its
-- counts. A write takes out what a record counted for just before it (BEFORE triggers still
-- see the old rows) and puts in what it counts for just after (AFTER triggers see the new
-- ones), as upserts of negative and positive counts: what an invoice's line counts for
-- depends on its bill (final, not deleted, when) and on the appointment it was charged for
-- (the doctor), so the triggers on those tables recount the lines they touch.

-- A counted line: of a finalised, not deleted invoice; the kind of line (every line of one
-- kind has the same amounts: billing's rounding is worked out once per kind by the report).
CREATE VIEW report_revenue_line_rows AS
    SELECT l.id AS line_id, l.bill_id, l.source, l.source_id, substr(b.finalized_at, 1, 10) AS day,
           COALESCE(l.service_id, '') AS service_id, l.description, l.quantity, l.unit_price_minor,
           l.discount_kind, l.discount_value, l.tax_rate_bp, COALESCE(a.doctor_id, '') AS doctor_id
    FROM bill_lines l
    JOIN bills b ON b.id = l.bill_id
    LEFT JOIN appointments a ON l.source = 'appointment' AND a.id = l.source_id
    WHERE l.deleted_at IS NULL AND b.status = 'final' AND b.deleted_at IS NULL AND b.finalized_at IS NOT NULL;

CREATE TABLE report_revenue_lines_day (
    day              TEXT NOT NULL,    -- UTC date of the invoice's finalisation
    service_id       TEXT NOT NULL,    -- '' for a manual line
    description      TEXT NOT NULL,
    quantity         INTEGER NOT NULL,
    unit_price_minor INTEGER NOT NULL,
    discount_kind    TEXT NOT NULL,
    discount_value   INTEGER NOT NULL,
    tax_rate_bp      INTEGER NOT NULL,
    doctor_id        TEXT NOT NULL,    -- '' when not charged for an appointment
    n                INTEGER NOT NULL,
    PRIMARY KEY (day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id)
) STRICT, WITHOUT ROWID;

-- Invoices with at least one counted line, and the same per doctor of a line (an invoice
-- with lines of two doctors counts once for each).
CREATE VIEW report_invoice_rows AS
    SELECT DISTINCT bill_id, day FROM report_revenue_line_rows;
CREATE VIEW report_invoice_doctor_rows AS
    SELECT DISTINCT bill_id, day, doctor_id FROM report_revenue_line_rows;

CREATE TABLE report_invoices_day (
    day TEXT PRIMARY KEY,
    n   INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE report_invoices_doctor_day (
    day       TEXT NOT NULL,
    doctor_id TEXT NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (day, doctor_id)
) STRICT, WITHOUT ROWID;

-- Credit notes of finalised, not deleted invoices, by the note's own date.
CREATE VIEW report_credit_note_rows AS
    SELECT c.id, c.bill_id, substr(c.created_at, 1, 10) AS day, c.amount_minor
    FROM credit_notes c JOIN bills b ON b.id = c.bill_id
    WHERE c.deleted_at IS NULL AND b.status = 'final' AND b.deleted_at IS NULL;

CREATE TABLE report_credit_notes_day (
    day    TEXT PRIMARY KEY,
    n      INTEGER NOT NULL,
    amount INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- Money moved (payments, advances, refunds) by the day it moved, mode and kind.
CREATE VIEW report_payment_rows AS
    SELECT id, substr(received_at, 1, 10) AS day, mode, kind, amount_minor FROM payments WHERE deleted_at IS NULL;

CREATE TABLE report_payments_day (
    day    TEXT NOT NULL,
    mode   TEXT NOT NULL,
    kind   TEXT NOT NULL,
    n      INTEGER NOT NULL,
    amount INTEGER NOT NULL,
    PRIMARY KEY (day, mode, kind)
) STRICT, WITHOUT ROWID;

INSERT INTO report_revenue_lines_day
    SELECT day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, COUNT(*)
    FROM report_revenue_line_rows
    GROUP BY day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id;
INSERT INTO report_invoices_day SELECT day, COUNT(*) FROM report_invoice_rows GROUP BY day;
INSERT INTO report_invoices_doctor_day SELECT day, doctor_id, COUNT(*) FROM report_invoice_doctor_rows GROUP BY day, doctor_id;
INSERT INTO report_credit_notes_day SELECT day, COUNT(*), SUM(amount_minor) FROM report_credit_note_rows GROUP BY day;
INSERT INTO report_payments_day
    SELECT day, mode, kind, COUNT(*), SUM(amount_minor) FROM report_payment_rows GROUP BY day, mode, kind;

-- The triggers: for each table a summary depends on, BEFORE each write the records it refers
-- to (old row and, when it names another record, new row) are taken out of every summary they
-- count in, and AFTER it they are put back as they now are. Taking out and putting back are
-- the same upsert with the count's sign; a key that refers to the same record in the old and
-- new row is handled once.

CREATE TRIGGER report_bills_before_insert BEFORE INSERT ON bills
BEGIN
    INSERT INTO report_revenue_lines_day (day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, -COUNT(*) FROM report_revenue_line_rows WHERE bill_id = NEW.id GROUP BY day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_day (day, n)
        SELECT day, -COUNT(*) FROM report_invoice_rows WHERE bill_id = NEW.id GROUP BY day
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_day (day, doctor_id, n)
        SELECT day, doctor_id, -COUNT(*) FROM report_invoice_doctor_rows WHERE bill_id = NEW.id GROUP BY day, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_credit_notes_day (day, n, amount)
        SELECT day, -COUNT(*), -SUM(amount_minor) FROM report_credit_note_rows WHERE bill_id = NEW.id GROUP BY day
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;

CREATE TRIGGER report_bills_after_insert AFTER INSERT ON bills
BEGIN
    INSERT INTO report_revenue_lines_day (day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, COUNT(*) FROM report_revenue_line_rows WHERE bill_id = NEW.id GROUP BY day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_day (day, n)
        SELECT day, COUNT(*) FROM report_invoice_rows WHERE bill_id = NEW.id GROUP BY day
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_day (day, doctor_id, n)
        SELECT day, doctor_id, COUNT(*) FROM report_invoice_doctor_rows WHERE bill_id = NEW.id GROUP BY day, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_credit_notes_day (day, n, amount)
        SELECT day, COUNT(*), SUM(amount_minor) FROM report_credit_note_rows WHERE bill_id = NEW.id GROUP BY day
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;

CREATE TRIGGER report_bills_before_update BEFORE UPDATE OF status, finalized_at, deleted_at ON bills
BEGIN
    INSERT INTO report_revenue_lines_day (day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, -COUNT(*) FROM report_revenue_line_rows WHERE bill_id = OLD.id GROUP BY day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_revenue_lines_day (day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, -COUNT(*) FROM report_revenue_line_rows WHERE bill_id = NEW.id AND NEW.id IS NOT OLD.id GROUP BY day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_day (day, n)
        SELECT day, -COUNT(*) FROM report_invoice_rows WHERE bill_id = OLD.id GROUP BY day
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_day (day, n)
        SELECT day, -COUNT(*) FROM report_invoice_rows WHERE bill_id = NEW.id AND NEW.id IS NOT OLD.id GROUP BY day
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_day (day, doctor_id, n)
        SELECT day, doctor_id, -COUNT(*) FROM report_invoice_doctor_rows WHERE bill_id = OLD.id GROUP BY day, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_day (day, doctor_id, n)
        SELECT day, doctor_id, -COUNT(*) FROM report_invoice_doctor_rows WHERE bill_id = NEW.id AND NEW.id IS NOT OLD.id GROUP BY day, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_credit_notes_day (day, n, amount)
        SELECT day, -COUNT(*), -SUM(amount_minor) FROM report_credit_note_rows WHERE bill_id = OLD.id GROUP BY day
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
    INSERT INTO report_credit_notes_day (day, n, amount)
        SELECT day, -COUNT(*), -SUM(amount_minor) FROM report_credit_note_rows WHERE bill_id = NEW.id AND NEW.id IS NOT OLD.id GROUP BY day
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;

CREATE TRIGGER report_bills_after_update AFTER UPDATE OF status, finalized_at, deleted_at ON bills
BEGIN
    INSERT INTO report_revenue_lines_day (day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, COUNT(*) FROM report_revenue_line_rows WHERE bill_id = OLD.id GROUP BY day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_revenue_lines_day (day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, COUNT(*) FROM report_revenue_line_rows WHERE bill_id = NEW.id AND NEW.id IS NOT OLD.id GROUP BY day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_day (day, n)
        SELECT day, COUNT(*) FROM report_invoice_rows WHERE bill_id = OLD.id GROUP BY day
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_day (day, n)
        SELECT day, COUNT(*) FROM report_invoice_rows WHERE bill_id = NEW.id AND NEW.id IS NOT OLD.id GROUP BY day
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_day (day, doctor_id, n)
        SELECT day, doctor_id, COUNT(*) FROM report_invoice_doctor_rows WHERE bill_id = OLD.id GROUP BY day, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_day (day, doctor_id, n)
        SELECT day, doctor_id, COUNT(*) FROM report_invoice_doctor_rows WHERE bill_id = NEW.id AND NEW.id IS NOT OLD.id GROUP BY day, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_credit_notes_day (day, n, amount)
        SELECT day, COUNT(*), SUM(amount_minor) FROM report_credit_note_rows WHERE bill_id = OLD.id GROUP BY day
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
    INSERT INTO report_credit_notes_day (day, n, amount)
        SELECT day, COUNT(*), SUM(amount_minor) FROM report_credit_note_rows WHERE bill_id = NEW.id AND NEW.id IS NOT OLD.id GROUP BY day
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;

CREATE TRIGGER report_bills_before_delete BEFORE DELETE ON bills
BEGIN
    INSERT INTO report_revenue_lines_day (day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, -COUNT(*) FROM report_revenue_line_rows WHERE bill_id = OLD.id GROUP BY day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_day (day, n)
        SELECT day, -COUNT(*) FROM report_invoice_rows WHERE bill_id = OLD.id GROUP BY day
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_day (day, doctor_id, n)
        SELECT day, doctor_id, -COUNT(*) FROM report_invoice_doctor_rows WHERE bill_id = OLD.id GROUP BY day, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_credit_notes_day (day, n, amount)
        SELECT day, -COUNT(*), -SUM(amount_minor) FROM report_credit_note_rows WHERE bill_id = OLD.id GROUP BY day
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;

CREATE TRIGGER report_bills_after_delete AFTER DELETE ON bills
BEGIN
    INSERT INTO report_revenue_lines_day (day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, COUNT(*) FROM report_revenue_line_rows WHERE bill_id = OLD.id GROUP BY day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_day (day, n)
        SELECT day, COUNT(*) FROM report_invoice_rows WHERE bill_id = OLD.id GROUP BY day
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_day (day, doctor_id, n)
        SELECT day, doctor_id, COUNT(*) FROM report_invoice_doctor_rows WHERE bill_id = OLD.id GROUP BY day, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_credit_notes_day (day, n, amount)
        SELECT day, COUNT(*), SUM(amount_minor) FROM report_credit_note_rows WHERE bill_id = OLD.id GROUP BY day
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;

CREATE TRIGGER report_bill_lines_before_insert BEFORE INSERT ON bill_lines
BEGIN
    INSERT INTO report_revenue_lines_day (day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, -COUNT(*) FROM report_revenue_line_rows WHERE line_id = NEW.id GROUP BY day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_day (day, n)
        SELECT day, -COUNT(*) FROM report_invoice_rows WHERE bill_id = NEW.bill_id GROUP BY day
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_day (day, doctor_id, n)
        SELECT day, doctor_id, -COUNT(*) FROM report_invoice_doctor_rows WHERE bill_id = NEW.bill_id GROUP BY day, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER report_bill_lines_after_insert AFTER INSERT ON bill_lines
BEGIN
    INSERT INTO report_revenue_lines_day (day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, COUNT(*) FROM report_revenue_line_rows WHERE line_id = NEW.id GROUP BY day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_day (day, n)
        SELECT day, COUNT(*) FROM report_invoice_rows WHERE bill_id = NEW.bill_id GROUP BY day
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_day (day, doctor_id, n)
        SELECT day, doctor_id, COUNT(*) FROM report_invoice_doctor_rows WHERE bill_id = NEW.bill_id GROUP BY day, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER report_bill_lines_before_update BEFORE UPDATE OF bill_id, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, source, source_id, deleted_at ON bill_lines
BEGIN
    INSERT INTO report_revenue_lines_day (day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, -COUNT(*) FROM report_revenue_line_rows WHERE line_id = OLD.id GROUP BY day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_revenue_lines_day (day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, -COUNT(*) FROM report_revenue_line_rows WHERE line_id = NEW.id AND NEW.id IS NOT OLD.id GROUP BY day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_day (day, n)
        SELECT day, -COUNT(*) FROM report_invoice_rows WHERE bill_id = OLD.bill_id GROUP BY day
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_day (day, n)
        SELECT day, -COUNT(*) FROM report_invoice_rows WHERE bill_id = NEW.bill_id AND NEW.bill_id IS NOT OLD.bill_id GROUP BY day
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_day (day, doctor_id, n)
        SELECT day, doctor_id, -COUNT(*) FROM report_invoice_doctor_rows WHERE bill_id = OLD.bill_id GROUP BY day, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_day (day, doctor_id, n)
        SELECT day, doctor_id, -COUNT(*) FROM report_invoice_doctor_rows WHERE bill_id = NEW.bill_id AND NEW.bill_id IS NOT OLD.bill_id GROUP BY day, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER report_bill_lines_after_update AFTER UPDATE OF bill_id, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, source, source_id, deleted_at ON bill_lines
BEGIN
    INSERT INTO report_revenue_lines_day (day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, COUNT(*) FROM report_revenue_line_rows WHERE line_id = OLD.id GROUP BY day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_revenue_lines_day (day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, COUNT(*) FROM report_revenue_line_rows WHERE line_id = NEW.id AND NEW.id IS NOT OLD.id GROUP BY day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_day (day, n)
        SELECT day, COUNT(*) FROM report_invoice_rows WHERE bill_id = OLD.bill_id GROUP BY day
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_day (day, n)
        SELECT day, COUNT(*) FROM report_invoice_rows WHERE bill_id = NEW.bill_id AND NEW.bill_id IS NOT OLD.bill_id GROUP BY day
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_day (day, doctor_id, n)
        SELECT day, doctor_id, COUNT(*) FROM report_invoice_doctor_rows WHERE bill_id = OLD.bill_id GROUP BY day, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_day (day, doctor_id, n)
        SELECT day, doctor_id, COUNT(*) FROM report_invoice_doctor_rows WHERE bill_id = NEW.bill_id AND NEW.bill_id IS NOT OLD.bill_id GROUP BY day, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER report_bill_lines_before_delete BEFORE DELETE ON bill_lines
BEGIN
    INSERT INTO report_revenue_lines_day (day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, -COUNT(*) FROM report_revenue_line_rows WHERE line_id = OLD.id GROUP BY day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_day (day, n)
        SELECT day, -COUNT(*) FROM report_invoice_rows WHERE bill_id = OLD.bill_id GROUP BY day
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_day (day, doctor_id, n)
        SELECT day, doctor_id, -COUNT(*) FROM report_invoice_doctor_rows WHERE bill_id = OLD.bill_id GROUP BY day, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER report_bill_lines_after_delete AFTER DELETE ON bill_lines
BEGIN
    INSERT INTO report_revenue_lines_day (day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, COUNT(*) FROM report_revenue_line_rows WHERE line_id = OLD.id GROUP BY day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_day (day, n)
        SELECT day, COUNT(*) FROM report_invoice_rows WHERE bill_id = OLD.bill_id GROUP BY day
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_day (day, doctor_id, n)
        SELECT day, doctor_id, COUNT(*) FROM report_invoice_doctor_rows WHERE bill_id = OLD.bill_id GROUP BY day, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER report_appointments_before_insert BEFORE INSERT ON appointments
BEGIN
    INSERT INTO report_revenue_lines_day (day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, -COUNT(*) FROM report_revenue_line_rows WHERE source = 'appointment' AND source_id = NEW.id GROUP BY day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_day (day, doctor_id, n)
        SELECT day, doctor_id, -COUNT(*) FROM (SELECT DISTINCT r.bill_id, r.day, r.doctor_id FROM bill_lines x JOIN report_revenue_line_rows r ON r.bill_id = x.bill_id WHERE x.source = 'appointment' AND x.source_id = NEW.id AND x.deleted_at IS NULL) WHERE true GROUP BY day, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER report_appointments_after_insert AFTER INSERT ON appointments
BEGIN
    INSERT INTO report_revenue_lines_day (day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, COUNT(*) FROM report_revenue_line_rows WHERE source = 'appointment' AND source_id = NEW.id GROUP BY day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_day (day, doctor_id, n)
        SELECT day, doctor_id, COUNT(*) FROM (SELECT DISTINCT r.bill_id, r.day, r.doctor_id FROM bill_lines x JOIN report_revenue_line_rows r ON r.bill_id = x.bill_id WHERE x.source = 'appointment' AND x.source_id = NEW.id AND x.deleted_at IS NULL) WHERE true GROUP BY day, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER report_appointments_before_update BEFORE UPDATE OF doctor_id ON appointments
BEGIN
    INSERT INTO report_revenue_lines_day (day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, -COUNT(*) FROM report_revenue_line_rows WHERE source = 'appointment' AND source_id = OLD.id GROUP BY day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_revenue_lines_day (day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, -COUNT(*) FROM report_revenue_line_rows WHERE source = 'appointment' AND source_id = NEW.id AND NEW.id IS NOT OLD.id GROUP BY day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_day (day, doctor_id, n)
        SELECT day, doctor_id, -COUNT(*) FROM (SELECT DISTINCT r.bill_id, r.day, r.doctor_id FROM bill_lines x JOIN report_revenue_line_rows r ON r.bill_id = x.bill_id WHERE x.source = 'appointment' AND x.source_id = OLD.id AND x.deleted_at IS NULL) WHERE true GROUP BY day, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_day (day, doctor_id, n)
        SELECT day, doctor_id, -COUNT(*) FROM (SELECT DISTINCT r.bill_id, r.day, r.doctor_id FROM bill_lines x JOIN report_revenue_line_rows r ON r.bill_id = x.bill_id WHERE x.source = 'appointment' AND x.source_id = NEW.id AND x.deleted_at IS NULL) WHERE true AND NEW.id IS NOT OLD.id GROUP BY day, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER report_appointments_after_update AFTER UPDATE OF doctor_id ON appointments
BEGIN
    INSERT INTO report_revenue_lines_day (day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, COUNT(*) FROM report_revenue_line_rows WHERE source = 'appointment' AND source_id = OLD.id GROUP BY day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_revenue_lines_day (day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, COUNT(*) FROM report_revenue_line_rows WHERE source = 'appointment' AND source_id = NEW.id AND NEW.id IS NOT OLD.id GROUP BY day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_day (day, doctor_id, n)
        SELECT day, doctor_id, COUNT(*) FROM (SELECT DISTINCT r.bill_id, r.day, r.doctor_id FROM bill_lines x JOIN report_revenue_line_rows r ON r.bill_id = x.bill_id WHERE x.source = 'appointment' AND x.source_id = OLD.id AND x.deleted_at IS NULL) WHERE true GROUP BY day, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_day (day, doctor_id, n)
        SELECT day, doctor_id, COUNT(*) FROM (SELECT DISTINCT r.bill_id, r.day, r.doctor_id FROM bill_lines x JOIN report_revenue_line_rows r ON r.bill_id = x.bill_id WHERE x.source = 'appointment' AND x.source_id = NEW.id AND x.deleted_at IS NULL) WHERE true AND NEW.id IS NOT OLD.id GROUP BY day, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER report_appointments_before_delete BEFORE DELETE ON appointments
BEGIN
    INSERT INTO report_revenue_lines_day (day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, -COUNT(*) FROM report_revenue_line_rows WHERE source = 'appointment' AND source_id = OLD.id GROUP BY day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_day (day, doctor_id, n)
        SELECT day, doctor_id, -COUNT(*) FROM (SELECT DISTINCT r.bill_id, r.day, r.doctor_id FROM bill_lines x JOIN report_revenue_line_rows r ON r.bill_id = x.bill_id WHERE x.source = 'appointment' AND x.source_id = OLD.id AND x.deleted_at IS NULL) WHERE true GROUP BY day, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER report_appointments_after_delete AFTER DELETE ON appointments
BEGIN
    INSERT INTO report_revenue_lines_day (day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n)
        SELECT day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, COUNT(*) FROM report_revenue_line_rows WHERE source = 'appointment' AND source_id = OLD.id GROUP BY day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_invoices_doctor_day (day, doctor_id, n)
        SELECT day, doctor_id, COUNT(*) FROM (SELECT DISTINCT r.bill_id, r.day, r.doctor_id FROM bill_lines x JOIN report_revenue_line_rows r ON r.bill_id = x.bill_id WHERE x.source = 'appointment' AND x.source_id = OLD.id AND x.deleted_at IS NULL) WHERE true GROUP BY day, doctor_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER report_credit_notes_before_insert BEFORE INSERT ON credit_notes
BEGIN
    INSERT INTO report_credit_notes_day (day, n, amount)
        SELECT day, -COUNT(*), -SUM(amount_minor) FROM report_credit_note_rows WHERE id = NEW.id GROUP BY day
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;

CREATE TRIGGER report_credit_notes_after_insert AFTER INSERT ON credit_notes
BEGIN
    INSERT INTO report_credit_notes_day (day, n, amount)
        SELECT day, COUNT(*), SUM(amount_minor) FROM report_credit_note_rows WHERE id = NEW.id GROUP BY day
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;

CREATE TRIGGER report_credit_notes_before_update BEFORE UPDATE OF bill_id, created_at, amount_minor, deleted_at ON credit_notes
BEGIN
    INSERT INTO report_credit_notes_day (day, n, amount)
        SELECT day, -COUNT(*), -SUM(amount_minor) FROM report_credit_note_rows WHERE id = OLD.id GROUP BY day
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
    INSERT INTO report_credit_notes_day (day, n, amount)
        SELECT day, -COUNT(*), -SUM(amount_minor) FROM report_credit_note_rows WHERE id = NEW.id AND NEW.id IS NOT OLD.id GROUP BY day
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;

CREATE TRIGGER report_credit_notes_after_update AFTER UPDATE OF bill_id, created_at, amount_minor, deleted_at ON credit_notes
BEGIN
    INSERT INTO report_credit_notes_day (day, n, amount)
        SELECT day, COUNT(*), SUM(amount_minor) FROM report_credit_note_rows WHERE id = OLD.id GROUP BY day
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
    INSERT INTO report_credit_notes_day (day, n, amount)
        SELECT day, COUNT(*), SUM(amount_minor) FROM report_credit_note_rows WHERE id = NEW.id AND NEW.id IS NOT OLD.id GROUP BY day
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;

CREATE TRIGGER report_credit_notes_before_delete BEFORE DELETE ON credit_notes
BEGIN
    INSERT INTO report_credit_notes_day (day, n, amount)
        SELECT day, -COUNT(*), -SUM(amount_minor) FROM report_credit_note_rows WHERE id = OLD.id GROUP BY day
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;

CREATE TRIGGER report_credit_notes_after_delete AFTER DELETE ON credit_notes
BEGIN
    INSERT INTO report_credit_notes_day (day, n, amount)
        SELECT day, COUNT(*), SUM(amount_minor) FROM report_credit_note_rows WHERE id = OLD.id GROUP BY day
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;

CREATE TRIGGER report_payments_before_insert BEFORE INSERT ON payments
BEGIN
    INSERT INTO report_payments_day (day, mode, kind, n, amount)
        SELECT day, mode, kind, -COUNT(*), -SUM(amount_minor) FROM report_payment_rows WHERE id = NEW.id GROUP BY day, mode, kind
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;

CREATE TRIGGER report_payments_after_insert AFTER INSERT ON payments
BEGIN
    INSERT INTO report_payments_day (day, mode, kind, n, amount)
        SELECT day, mode, kind, COUNT(*), SUM(amount_minor) FROM report_payment_rows WHERE id = NEW.id GROUP BY day, mode, kind
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;

CREATE TRIGGER report_payments_before_update BEFORE UPDATE OF received_at, mode, kind, amount_minor, deleted_at ON payments
BEGIN
    INSERT INTO report_payments_day (day, mode, kind, n, amount)
        SELECT day, mode, kind, -COUNT(*), -SUM(amount_minor) FROM report_payment_rows WHERE id = OLD.id GROUP BY day, mode, kind
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
    INSERT INTO report_payments_day (day, mode, kind, n, amount)
        SELECT day, mode, kind, -COUNT(*), -SUM(amount_minor) FROM report_payment_rows WHERE id = NEW.id AND NEW.id IS NOT OLD.id GROUP BY day, mode, kind
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;

CREATE TRIGGER report_payments_after_update AFTER UPDATE OF received_at, mode, kind, amount_minor, deleted_at ON payments
BEGIN
    INSERT INTO report_payments_day (day, mode, kind, n, amount)
        SELECT day, mode, kind, COUNT(*), SUM(amount_minor) FROM report_payment_rows WHERE id = OLD.id GROUP BY day, mode, kind
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
    INSERT INTO report_payments_day (day, mode, kind, n, amount)
        SELECT day, mode, kind, COUNT(*), SUM(amount_minor) FROM report_payment_rows WHERE id = NEW.id AND NEW.id IS NOT OLD.id GROUP BY day, mode, kind
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;

CREATE TRIGGER report_payments_before_delete BEFORE DELETE ON payments
BEGIN
    INSERT INTO report_payments_day (day, mode, kind, n, amount)
        SELECT day, mode, kind, -COUNT(*), -SUM(amount_minor) FROM report_payment_rows WHERE id = OLD.id GROUP BY day, mode, kind
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;

CREATE TRIGGER report_payments_after_delete AFTER DELETE ON payments
BEGIN
    INSERT INTO report_payments_day (day, mode, kind, n, amount)
        SELECT day, mode, kind, COUNT(*), SUM(amount_minor) FROM report_payment_rows WHERE id = OLD.id GROUP BY day, mode, kind
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;
