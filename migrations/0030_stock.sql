-- Pharmacy and lab stock (issue 16, first layers): stores, suppliers, stock items (linked to
-- the medicine list or standing alone: lab consumables, reagents), batches with their expiry,
-- goods received, dispensings against prescriptions, and the ledger of movements.
--
-- Stock is a ledger: `stock_movements` is append-only (rows are inserted, never updated: the
-- trigger below refuses a change of what a movement moved) and the balance of an item, batch
-- and store is the sum of its movements. `stock_balances` is a cache of those sums kept by
-- triggers in the same transaction as the movement (local to the device, never synced, never
-- written by the app): a pulled movement updates it the same way as a local one.
-- Append-only: once landed, never edit this file; add a new migration instead.
CREATE TABLE stock_stores (
    id              TEXT PRIMARY KEY,           -- UUIDv7
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('main', 'pharmacy', 'lab', 'ward')),
    active          INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,              -- hybrid logical clock
    updated_by      TEXT,
    origin_device   TEXT NOT NULL,
    deleted_at      TEXT
) STRICT;

CREATE TABLE suppliers (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    phone           TEXT NOT NULL DEFAULT '',
    address         TEXT NOT NULL DEFAULT '',
    tax_no          TEXT NOT NULL DEFAULT '',   -- GSTIN or the like
    active          INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    updated_by      TEXT,
    origin_device   TEXT NOT NULL,
    deleted_at      TEXT
) STRICT;

-- What is stocked. Quantities everywhere are in the item's base unit (`unit`: tablet, ml,
-- strip, test); a pack holds `pack_size` of them. Prices are minor units per base unit.
CREATE TABLE stock_items (
    id                TEXT PRIMARY KEY,
    kind              TEXT NOT NULL CHECK (kind IN ('medicine', 'lab_consumable', 'other')),
    medicine_id       TEXT REFERENCES medicines (id),  -- the medicine prescriptions name
    generic_name      TEXT NOT NULL,
    strength          TEXT NOT NULL DEFAULT '',
    form              TEXT NOT NULL DEFAULT '',
    pack_size         INTEGER NOT NULL DEFAULT 1 CHECK (pack_size >= 1),
    unit              TEXT NOT NULL,
    reorder_level     INTEGER NOT NULL DEFAULT 0 CHECK (reorder_level >= 0),
    tax_rate_bp       INTEGER NOT NULL DEFAULT 0 CHECK (tax_rate_bp BETWEEN 0 AND 10000),
    hsn_code          TEXT NOT NULL DEFAULT '',
    sale_price_minor  INTEGER NOT NULL DEFAULT 0 CHECK (sale_price_minor >= 0),
    active            INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    updated_by        TEXT,
    origin_device     TEXT NOT NULL,
    deleted_at        TEXT
) STRICT;
CREATE INDEX stock_items_name ON stock_items (generic_name COLLATE NOCASE);
CREATE INDEX stock_items_medicine ON stock_items (medicine_id) WHERE medicine_id IS NOT NULL;

-- A batch of an item: its number and expiry (the last day it may be used). Its id is derived
-- from the item and the batch number (ids::reference_id), so two devices receiving the same
-- batch offline make one row.
CREATE TABLE stock_batches (
    id                TEXT PRIMARY KEY,
    item_id           TEXT NOT NULL REFERENCES stock_items (id),
    batch_no          TEXT NOT NULL,
    expiry            TEXT NOT NULL,            -- YYYY-MM-DD
    supplier_id       TEXT REFERENCES suppliers (id),
    cost_minor        INTEGER NOT NULL DEFAULT 0 CHECK (cost_minor >= 0),        -- per base unit
    sale_price_minor  INTEGER NOT NULL DEFAULT 0 CHECK (sale_price_minor >= 0),  -- per base unit
    on_hold           INTEGER NOT NULL DEFAULT 0 CHECK (on_hold IN (0, 1)),      -- a recall, a query
    hold_reason       TEXT NOT NULL DEFAULT '',
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    updated_by        TEXT,
    origin_device     TEXT NOT NULL,
    deleted_at        TEXT
) STRICT;
CREATE INDEX stock_batches_item ON stock_batches (item_id, expiry);
CREATE INDEX stock_batches_expiry ON stock_batches (expiry);

-- Goods received into a store, with or without a supplier's invoice.
CREATE TABLE stock_receipts (
    id              TEXT PRIMARY KEY,
    store_id        TEXT NOT NULL REFERENCES stock_stores (id),
    supplier_id     TEXT REFERENCES suppliers (id),
    invoice_no      TEXT NOT NULL DEFAULT '',
    note            TEXT NOT NULL DEFAULT '',
    received_at     TEXT NOT NULL,              -- UTC, RFC 3339
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    updated_by      TEXT,
    origin_device   TEXT NOT NULL,
    deleted_at      TEXT
) STRICT;

CREATE TABLE stock_receipt_lines (
    id                TEXT PRIMARY KEY,
    receipt_id        TEXT NOT NULL REFERENCES stock_receipts (id),
    item_id           TEXT NOT NULL REFERENCES stock_items (id),
    batch_id          TEXT NOT NULL REFERENCES stock_batches (id),
    packs             INTEGER NOT NULL DEFAULT 0 CHECK (packs >= 0),
    units             INTEGER NOT NULL DEFAULT 0 CHECK (units >= 0),       -- loose units beyond the packs
    free_units        INTEGER NOT NULL DEFAULT 0 CHECK (free_units >= 0),  -- the supplier's free quantity
    quantity          INTEGER NOT NULL CHECK (quantity > 0),               -- base units in all
    pack_cost_minor   INTEGER NOT NULL DEFAULT 0 CHECK (pack_cost_minor >= 0),
    sale_price_minor  INTEGER NOT NULL DEFAULT 0 CHECK (sale_price_minor >= 0),  -- per base unit
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    updated_by        TEXT,
    origin_device     TEXT NOT NULL,
    deleted_at        TEXT
) STRICT;
CREATE INDEX stock_receipt_lines_receipt ON stock_receipt_lines (receipt_id);

-- One prescription line dispensed (in full or in part) from a store: what was given (the
-- prescribed medicine's item, or a substitute with the reason) and whether the line is done.
CREATE TABLE dispensings (
    id                   TEXT PRIMARY KEY,
    prescription_id      TEXT NOT NULL REFERENCES prescriptions (id),
    patient_id           TEXT NOT NULL REFERENCES patients (id),
    item_id              TEXT NOT NULL REFERENCES stock_items (id),
    store_id             TEXT NOT NULL REFERENCES stock_stores (id),
    quantity             INTEGER NOT NULL CHECK (quantity > 0),
    complete             INTEGER NOT NULL DEFAULT 1 CHECK (complete IN (0, 1)),
    substitution_reason  TEXT NOT NULL DEFAULT '',
    dispensed_at         TEXT NOT NULL,
    dispensed_by         TEXT,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    updated_by           TEXT,
    origin_device        TEXT NOT NULL,
    deleted_at           TEXT
) STRICT;
CREATE INDEX dispensings_prescription ON dispensings (prescription_id);
CREATE INDEX dispensings_patient ON dispensings (patient_id);

-- The ledger. `quantity` is signed, in base units: received, returned, transfer_in and a
-- positive adjustment add; dispensed, transfer_out and a negative adjustment take away.
CREATE TABLE stock_movements (
    id                    TEXT PRIMARY KEY,
    item_id               TEXT NOT NULL REFERENCES stock_items (id),
    batch_id              TEXT NOT NULL REFERENCES stock_batches (id),
    store_id              TEXT NOT NULL REFERENCES stock_stores (id),
    kind                  TEXT NOT NULL CHECK (kind IN ('received', 'dispensed', 'returned', 'transfer_out', 'transfer_in', 'adjusted')),
    quantity              INTEGER NOT NULL CHECK (quantity <> 0),
    reason                TEXT NOT NULL DEFAULT '' CHECK (reason IN ('', 'damaged', 'expired', 'count_correction')),
    note                  TEXT NOT NULL DEFAULT '',
    receipt_line_id       TEXT REFERENCES stock_receipt_lines (id),
    dispensing_id         TEXT REFERENCES dispensings (id),
    returns_movement_id   TEXT REFERENCES stock_movements (id),   -- a return: the dispensing movement it undoes
    transfer_id           TEXT,                                     -- a transfer's two movements share it
    at                    TEXT NOT NULL,        -- UTC, RFC 3339
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL,
    updated_by            TEXT,
    origin_device         TEXT NOT NULL,
    deleted_at            TEXT
) STRICT;
CREATE INDEX stock_movements_batch ON stock_movements (batch_id, store_id);
CREATE INDEX stock_movements_item ON stock_movements (item_id, at);
CREATE INDEX stock_movements_dispensing ON stock_movements (dispensing_id) WHERE dispensing_id IS NOT NULL;
CREATE INDEX stock_movements_returns ON stock_movements (returns_movement_id) WHERE returns_movement_id IS NOT NULL;

-- A movement moves what it moved for ever.
CREATE TRIGGER stock_movements_append_only BEFORE UPDATE ON stock_movements
WHEN NEW.item_id IS NOT OLD.item_id OR NEW.batch_id IS NOT OLD.batch_id OR NEW.store_id IS NOT OLD.store_id
  OR NEW.kind IS NOT OLD.kind OR NEW.quantity IS NOT OLD.quantity OR NEW.deleted_at IS NOT OLD.deleted_at
BEGIN
    SELECT RAISE(ABORT, 'stock_movements are append-only');
END;

-- The derived balances: the sum of each batch's movements in each store. Local, not synced.
CREATE TABLE stock_balances (
    batch_id   TEXT NOT NULL,
    store_id   TEXT NOT NULL,
    item_id    TEXT NOT NULL,
    quantity   INTEGER NOT NULL,
    PRIMARY KEY (batch_id, store_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX stock_balances_item ON stock_balances (item_id, store_id);
CREATE INDEX stock_balances_store ON stock_balances (store_id);

CREATE TRIGGER stock_balances_on_insert AFTER INSERT ON stock_movements WHEN NEW.deleted_at IS NULL
BEGIN
    INSERT INTO stock_balances (batch_id, store_id, item_id, quantity)
    VALUES (NEW.batch_id, NEW.store_id, NEW.item_id, NEW.quantity)
    ON CONFLICT (batch_id, store_id) DO UPDATE SET quantity = quantity + excluded.quantity;
END;

-- Should a movement ever leave (a restore that rewrites the ledger), its sum leaves with it.
CREATE TRIGGER stock_balances_on_delete AFTER DELETE ON stock_movements WHEN OLD.deleted_at IS NULL
BEGIN
    UPDATE stock_balances SET quantity = quantity - OLD.quantity WHERE batch_id = OLD.batch_id AND store_id = OLD.store_id;
END;
