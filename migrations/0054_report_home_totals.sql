-- What finalised invoices still ask for, in all (issue 17): the administrator's Home counted
-- `report_dues` (migration 0031) on every refresh — every invoice owing or overpaid, about
-- 100,000 rows at 1,000,000 patients. One row kept by triggers on `report_dues` (which the
-- triggers of bills, payments and credit notes rewrite, delete then insert, in the same
-- transaction as the write) holds the count and the sum of the positive dues.
-- `reports::summary::verify` compares it with a recount from the invoices.
--
-- Also for Home: the people seen from the 1st of the month to today were counted from the
-- people-seen chain's rows of those days (24,000 rows on the 7th at 1,000,000 patients);
-- `report_seen_people_day` counts the chain's rows by date and the month of the person's
-- previous attended appointment ('' none), kept by triggers on the chain itself, so a range
-- starting on the 1st reads its days' counts (`reports::seen`).
-- Append-only: once landed, never edit this file; add a new migration instead.

CREATE TABLE report_dues_total (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    invoices INTEGER NOT NULL,   -- invoices with something due
    amount   INTEGER NOT NULL    -- the sum of those dues, minor units
) STRICT;

INSERT INTO report_dues_total (id, invoices, amount)
    SELECT 1, COUNT(*), COALESCE(SUM(due), 0) FROM report_dues WHERE due > 0;

CREATE TRIGGER report_dues_total_insert AFTER INSERT ON report_dues WHEN NEW.due > 0 BEGIN
    UPDATE report_dues_total SET invoices = invoices + 1, amount = amount + NEW.due WHERE id = 1;
END;

CREATE TRIGGER report_dues_total_delete AFTER DELETE ON report_dues WHEN OLD.due > 0 BEGIN
    UPDATE report_dues_total SET invoices = invoices - 1, amount = amount - OLD.due WHERE id = 1;
END;

CREATE TRIGGER report_dues_total_update AFTER UPDATE OF due ON report_dues WHEN OLD.due > 0 OR NEW.due > 0 BEGIN
    UPDATE report_dues_total
    SET invoices = invoices - (OLD.due > 0) + (NEW.due > 0), amount = amount - MAX(OLD.due, 0) + MAX(NEW.due, 0)
    WHERE id = 1;
END;

CREATE TABLE report_seen_people_day (
    date       TEXT NOT NULL,
    prev_month TEXT NOT NULL,    -- '' none: the person's first attended appointment
    n          INTEGER NOT NULL,
    PRIMARY KEY (date, prev_month)
) STRICT, WITHOUT ROWID;

INSERT INTO report_seen_people_day (date, prev_month, n)
    SELECT date, COALESCE(substr(prev_any, 1, 7), ''), COUNT(*) FROM report_seen_chain GROUP BY 1, 2;

CREATE TRIGGER report_seen_people_day_insert AFTER INSERT ON report_seen_chain BEGIN
    INSERT INTO report_seen_people_day (date, prev_month, n) VALUES (NEW.date, COALESCE(substr(NEW.prev_any, 1, 7), ''), 1)
        ON CONFLICT DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER report_seen_people_day_delete AFTER DELETE ON report_seen_chain BEGIN
    UPDATE report_seen_people_day SET n = n - 1 WHERE date = OLD.date AND prev_month = COALESCE(substr(OLD.prev_any, 1, 7), '');
END;

CREATE TRIGGER report_seen_people_day_update AFTER UPDATE OF date, prev_any ON report_seen_chain BEGIN
    UPDATE report_seen_people_day SET n = n - 1 WHERE date = OLD.date AND prev_month = COALESCE(substr(OLD.prev_any, 1, 7), '');
    INSERT INTO report_seen_people_day (date, prev_month, n) VALUES (NEW.date, COALESCE(substr(NEW.prev_any, 1, 7), ''), 1)
        ON CONFLICT DO UPDATE SET n = n + 1;
END;
