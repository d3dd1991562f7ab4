-- Receivables by age (issue 17) as of a past day sums the dues of every invoice finalised
-- before it by band; at 1,000,000 patients that read all 74,000 invoices owing (17 ms of a
-- 60 ms statement on a warm connection). Only the bands' edges need reading: everything
-- finalised before the oldest edge (90 days before the range's last day) is the total less
-- what was finalised since, read through `report_owing_finalized` (`reports::receivables`).
-- `report_owing_total` keeps the invoices of `report_owing` owing something (due > 0) and
-- the sum of their dues, by triggers on `report_owing` in the same transaction as every
-- write behind it; `reports::summary::verify` compares it with a recount from the records.
-- Append-only: once landed, never edit this file; add a new migration instead.

CREATE TABLE report_owing_total (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    invoices INTEGER NOT NULL,   -- invoices whose due is more than 0
    owed     INTEGER NOT NULL    -- the sum of those dues, minor units
) STRICT;

INSERT INTO report_owing_total (id, invoices, owed)
    SELECT 1, COUNT(*), COALESCE(SUM(due), 0) FROM report_owing WHERE due > 0;

CREATE TRIGGER report_owing_total_insert AFTER INSERT ON report_owing WHEN NEW.due > 0 BEGIN
    UPDATE report_owing_total SET invoices = invoices + 1, owed = owed + NEW.due WHERE id = 1;
END;

CREATE TRIGGER report_owing_total_delete AFTER DELETE ON report_owing WHEN OLD.due > 0 BEGIN
    UPDATE report_owing_total SET invoices = invoices - 1, owed = owed - OLD.due WHERE id = 1;
END;

CREATE TRIGGER report_owing_total_update AFTER UPDATE OF due ON report_owing WHEN OLD.due > 0 OR NEW.due > 0 BEGIN
    UPDATE report_owing_total
    SET invoices = invoices - (OLD.due > 0) + (NEW.due > 0), owed = owed - MAX(OLD.due, 0) + MAX(NEW.due, 0)
    WHERE id = 1;
END;
