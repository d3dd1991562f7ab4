-- Lab consumption (issue 16): each lab test names the stock items it uses per test (a reagent,
-- a strip), and entering a result takes them out of the clinic's lab store.
--
-- `lab_test_consumables`: one row per test and item (its id derived from the two, so two
-- devices setting it offline make one row); removing one tombstones it.
-- `lab_uses`: what one result used of one item (insert-only): the quantity the test names,
-- the lab store it came from, and `short`, the part no batch gave (no usable stock and
-- negative stock not allowed, or no lab store): a result is never blocked by stock, and a
-- shortfall is listed, never skipped in silence.
-- The ledger learns a movement kind, `lab_use` (out of the lab store, naming its `lab_uses`
-- row): `stock_movements` is rebuilt, SQLite cannot change a CHECK. Its balances cache and
-- its rows are kept as they are.
-- Other tables name movements (stock_take_lines.adjustment_id): foreign keys are checked at
-- the end of this migration's transaction, once the rebuilt table holds the same rows again.
-- Append-only: once landed, never edit this file; add a new migration instead.
PRAGMA defer_foreign_keys = ON;

CREATE TABLE lab_test_consumables (
    id              TEXT PRIMARY KEY,           -- ids::reference_id of test and item
    test_id         TEXT NOT NULL REFERENCES lab_tests (id),
    item_id         TEXT NOT NULL REFERENCES stock_items (id),
    quantity        INTEGER NOT NULL CHECK (quantity > 0),  -- base units per test
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    updated_by      TEXT,
    origin_device   TEXT NOT NULL,
    deleted_at      TEXT
) STRICT;
CREATE INDEX lab_test_consumables_test ON lab_test_consumables (test_id) WHERE deleted_at IS NULL;

CREATE TABLE lab_uses (
    id              TEXT PRIMARY KEY,
    order_id        TEXT NOT NULL REFERENCES lab_orders (id),
    result_id       TEXT NOT NULL REFERENCES lab_results (id),
    test_id         TEXT NOT NULL REFERENCES lab_tests (id),
    item_id         TEXT NOT NULL REFERENCES stock_items (id),
    store_id        TEXT REFERENCES stock_stores (id),    -- none: the clinic has no lab store
    quantity        INTEGER NOT NULL CHECK (quantity > 0),
    short           INTEGER NOT NULL DEFAULT 0 CHECK (short >= 0 AND short <= quantity),
    at              TEXT NOT NULL,              -- UTC, RFC 3339
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    updated_by      TEXT,
    origin_device   TEXT NOT NULL,
    deleted_at      TEXT
) STRICT;
CREATE INDEX lab_uses_order ON lab_uses (order_id);
CREATE INDEX lab_uses_short ON lab_uses (at) WHERE short > 0;

CREATE TABLE stock_movements_v2 (
    id                    TEXT PRIMARY KEY,
    item_id               TEXT NOT NULL REFERENCES stock_items (id),
    batch_id              TEXT NOT NULL REFERENCES stock_batches (id),
    store_id              TEXT NOT NULL REFERENCES stock_stores (id),
    kind                  TEXT NOT NULL CHECK (kind IN ('received', 'dispensed', 'returned', 'transfer_out', 'transfer_in', 'adjusted', 'lab_use')),
    quantity              INTEGER NOT NULL CHECK (quantity <> 0),
    reason                TEXT NOT NULL DEFAULT '' CHECK (reason IN ('', 'damaged', 'expired', 'count_correction')),
    note                  TEXT NOT NULL DEFAULT '',
    receipt_line_id       TEXT REFERENCES stock_receipt_lines (id),
    dispensing_id         TEXT REFERENCES dispensings (id),
    returns_movement_id   TEXT REFERENCES stock_movements_v2 (id),   -- renamed with the table below
    transfer_id           TEXT,
    at                    TEXT NOT NULL,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL,
    updated_by            TEXT,
    origin_device         TEXT NOT NULL,
    deleted_at            TEXT,
    lab_use_id            TEXT REFERENCES lab_uses (id)
) STRICT;
-- Copied before any trigger exists on the new table: the balances cache already holds these sums.
INSERT INTO stock_movements_v2 (id, item_id, batch_id, store_id, kind, quantity, reason, note, receipt_line_id,
                                dispensing_id, returns_movement_id, transfer_id, at, created_at, updated_at,
                                updated_by, origin_device, deleted_at)
    SELECT id, item_id, batch_id, store_id, kind, quantity, reason, note, receipt_line_id,
           dispensing_id, returns_movement_id, transfer_id, at, created_at, updated_at,
           updated_by, origin_device, deleted_at
    FROM stock_movements ORDER BY id;
-- The old triggers go first, so that dropping the table takes nothing from the cache.
DROP TRIGGER stock_balances_on_delete;
DROP TRIGGER stock_balances_on_insert;
DROP TRIGGER stock_movements_append_only;
DROP TABLE stock_movements;
ALTER TABLE stock_movements_v2 RENAME TO stock_movements;
CREATE INDEX stock_movements_batch ON stock_movements (batch_id, store_id);
CREATE INDEX stock_movements_item ON stock_movements (item_id, at);
CREATE INDEX stock_movements_dispensing ON stock_movements (dispensing_id) WHERE dispensing_id IS NOT NULL;
CREATE INDEX stock_movements_returns ON stock_movements (returns_movement_id) WHERE returns_movement_id IS NOT NULL;
CREATE INDEX stock_movements_lab_use ON stock_movements (lab_use_id) WHERE lab_use_id IS NOT NULL;

CREATE TRIGGER stock_movements_append_only BEFORE UPDATE ON stock_movements
WHEN NEW.item_id IS NOT OLD.item_id OR NEW.batch_id IS NOT OLD.batch_id OR NEW.store_id IS NOT OLD.store_id
  OR NEW.kind IS NOT OLD.kind OR NEW.quantity IS NOT OLD.quantity OR NEW.deleted_at IS NOT OLD.deleted_at
BEGIN
    SELECT RAISE(ABORT, 'stock_movements are append-only');
END;

CREATE TRIGGER stock_balances_on_insert AFTER INSERT ON stock_movements WHEN NEW.deleted_at IS NULL
BEGIN
    INSERT INTO stock_balances (batch_id, store_id, item_id, quantity)
    VALUES (NEW.batch_id, NEW.store_id, NEW.item_id, NEW.quantity)
    ON CONFLICT (batch_id, store_id) DO UPDATE SET quantity = quantity + excluded.quantity;
END;

CREATE TRIGGER stock_balances_on_delete AFTER DELETE ON stock_movements WHEN OLD.deleted_at IS NULL
BEGIN
    UPDATE stock_balances SET quantity = quantity - OLD.quantity WHERE batch_id = OLD.batch_id AND store_id = OLD.store_id;
END;
