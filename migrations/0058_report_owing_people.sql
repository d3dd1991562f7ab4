-- Receivables by age (issue 17) lists the 500 people owing most with everyone's totals. At
-- 1,000,000 patients 72,000 people owe something (75,000 invoices), and every run summed all
-- of them per person (100–165 ms warm, up to 500 ms on a cold connection) to find the 500.
-- `report_owing_people` keeps each person's invoices owing something today and their sum
-- (kept by triggers on `report_owing`, in the same transaction as every write behind it);
-- the list is read from its index by amount. A run as of a past day works out again only the
-- people something happened to since (an invoice finalised or moved after that day); the
-- bands' totals are read through `report_owing_finalized` (`reports::receivables`).
-- `reports::summary::verify` compares the table with a recount from `report_owing`.
-- Append-only: once landed, never edit this file; add a new migration instead.

CREATE TABLE report_owing_people (
    person   TEXT PRIMARY KEY,
    invoices INTEGER NOT NULL,   -- invoices whose due is more than 0
    owed     INTEGER NOT NULL    -- the sum of those dues, minor units
) STRICT, WITHOUT ROWID;

CREATE INDEX report_owing_people_owed ON report_owing_people (owed);
CREATE INDEX report_owing_finalized ON report_owing (finalized_at, person, due) WHERE due > 0;

INSERT INTO report_owing_people (person, invoices, owed)
    SELECT person, COUNT(*), SUM(due) FROM report_owing WHERE due > 0 GROUP BY person;

CREATE TRIGGER report_owing_people_insert AFTER INSERT ON report_owing WHEN NEW.due > 0 BEGIN
    INSERT INTO report_owing_people (person, invoices, owed) VALUES (NEW.person, 1, NEW.due)
        ON CONFLICT DO UPDATE SET invoices = invoices + 1, owed = owed + excluded.owed;
END;

CREATE TRIGGER report_owing_people_delete AFTER DELETE ON report_owing WHEN OLD.due > 0 BEGIN
    UPDATE report_owing_people SET invoices = invoices - 1, owed = owed - OLD.due WHERE person = OLD.person;
    DELETE FROM report_owing_people WHERE person = OLD.person AND invoices = 0;
END;

-- A merge moves an invoice to its survivor (migration 0047 updates `person`).
CREATE TRIGGER report_owing_people_update AFTER UPDATE OF person, due ON report_owing
WHEN OLD.person IS NOT NEW.person OR OLD.due IS NOT NEW.due BEGIN
    UPDATE report_owing_people SET invoices = invoices - 1, owed = owed - OLD.due
        WHERE OLD.due > 0 AND person = OLD.person;
    DELETE FROM report_owing_people WHERE OLD.due > 0 AND person = OLD.person AND invoices = 0;
    INSERT INTO report_owing_people (person, invoices, owed) SELECT NEW.person, 1, NEW.due WHERE NEW.due > 0
        ON CONFLICT DO UPDATE SET invoices = invoices + 1, owed = owed + excluded.owed;
END;
