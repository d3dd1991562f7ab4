-- A doctor's lab results back, kept by who ordered them (issue 17). A doctor's Home lists the
-- results of their orders back in the last week: it read every result of the week, the whole
-- clinic's, and looked up each one's order for who had ordered it — 12,000 results a week at
-- 1,000,000 patients, 13 ms with the pages cached and 60 ms on a read connection without.
-- This table holds each result of a resulted, not deleted order with an orderer, by orderer
-- and time, so the week of one doctor is one short range of its key.
--
-- Local and derived (never synced), kept by triggers in the same transaction as every write to
-- `lab_results` and `lab_orders` (a result entered, corrected or deleted; an order cancelled,
-- reassigned or deleted; an order arriving by sync after its result; plain SQL): after each
-- write the rows of the results it touches are taken out and put back from what the records
-- say now. `reports::summary::verify` compares it with the records.
-- Append-only: once landed, never edit this file; add a new migration instead.

CREATE TABLE lab_results_by_orderer (
    ordered_by  TEXT NOT NULL,
    resulted_at TEXT NOT NULL,
    result_id   TEXT NOT NULL,
    PRIMARY KEY (ordered_by, resulted_at, result_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX lab_results_by_orderer_result ON lab_results_by_orderer (result_id);

-- The rows there should be.
CREATE VIEW lab_results_by_orderer_rows AS
    SELECT o.ordered_by, r.resulted_at, r.id AS result_id
    FROM lab_results r JOIN lab_orders o ON o.id = r.order_id
    WHERE r.deleted_at IS NULL AND o.deleted_at IS NULL AND o.status = 'resulted' AND o.ordered_by IS NOT NULL;

INSERT INTO lab_results_by_orderer (ordered_by, resulted_at, result_id)
    SELECT ordered_by, resulted_at, result_id FROM lab_results_by_orderer_rows;

CREATE TRIGGER lab_results_by_orderer_result_insert AFTER INSERT ON lab_results
BEGIN
    INSERT OR IGNORE INTO lab_results_by_orderer (ordered_by, resulted_at, result_id)
        SELECT ordered_by, resulted_at, result_id FROM lab_results_by_orderer_rows WHERE result_id = NEW.id;
END;

CREATE TRIGGER lab_results_by_orderer_result_update AFTER UPDATE OF id, order_id, resulted_at, deleted_at ON lab_results
BEGIN
    DELETE FROM lab_results_by_orderer WHERE result_id IN (OLD.id, NEW.id);
    INSERT OR IGNORE INTO lab_results_by_orderer (ordered_by, resulted_at, result_id)
        SELECT ordered_by, resulted_at, result_id FROM lab_results_by_orderer_rows WHERE result_id = NEW.id;
END;

CREATE TRIGGER lab_results_by_orderer_result_delete AFTER DELETE ON lab_results
BEGIN
    DELETE FROM lab_results_by_orderer WHERE result_id = OLD.id;
END;

-- An order's results: at most one not deleted (`lab_results_order`), and only those count.
-- (Written out rather than through the view: a view filtered by a sub-select is planned as a
-- scan of every resulted order.)
CREATE TRIGGER lab_results_by_orderer_order_insert AFTER INSERT ON lab_orders
BEGIN
    INSERT OR IGNORE INTO lab_results_by_orderer (ordered_by, resulted_at, result_id)
        SELECT NEW.ordered_by, r.resulted_at, r.id FROM lab_results r
        WHERE r.order_id = NEW.id AND r.deleted_at IS NULL
          AND NEW.deleted_at IS NULL AND NEW.status = 'resulted' AND NEW.ordered_by IS NOT NULL;
END;

CREATE TRIGGER lab_results_by_orderer_order_update AFTER UPDATE OF id, ordered_by, status, deleted_at ON lab_orders
BEGIN
    DELETE FROM lab_results_by_orderer
        WHERE result_id IN (SELECT id FROM lab_results WHERE order_id IN (OLD.id, NEW.id) AND deleted_at IS NULL);
    INSERT OR IGNORE INTO lab_results_by_orderer (ordered_by, resulted_at, result_id)
        SELECT NEW.ordered_by, r.resulted_at, r.id FROM lab_results r
        WHERE r.order_id = NEW.id AND r.deleted_at IS NULL
          AND NEW.deleted_at IS NULL AND NEW.status = 'resulted' AND NEW.ordered_by IS NOT NULL;
END;

CREATE TRIGGER lab_results_by_orderer_order_delete AFTER DELETE ON lab_orders
BEGIN
    DELETE FROM lab_results_by_orderer
        WHERE result_id IN (SELECT id FROM lab_results WHERE order_id = OLD.id AND deleted_at IS NULL);
END;
