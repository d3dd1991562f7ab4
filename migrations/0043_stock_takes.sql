-- Stock takes (issue 16): a count of a store's shelves. Opening one snapshots each batch line
-- of the store (optionally of one kind of item, or items whose name matches a search) with the
-- balance the ledger had at that moment; counts are entered per line, each with the moment it
-- was entered; posting writes one count-correction movement per line whose count differs from
-- the ledger's balance at that moment (movements during the count are accounted for).
-- Both tables sync; a line is updated when counted and when posted.
-- Append-only: once landed, never edit this file; add a new migration instead.
CREATE TABLE stock_takes (
    id              TEXT PRIMARY KEY,           -- UUIDv7
    store_id        TEXT NOT NULL REFERENCES stock_stores (id),
    status          TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'posted', 'cancelled')),
    blind           INTEGER NOT NULL DEFAULT 0 CHECK (blind IN (0, 1)),  -- the sheet leaves out the expected quantities
    item_kind       TEXT NOT NULL DEFAULT '' CHECK (item_kind IN ('', 'medicine', 'lab_consumable', 'other')),
    search          TEXT NOT NULL DEFAULT '',   -- the items' name filter it was opened with ('' = all)
    note            TEXT NOT NULL DEFAULT '',
    opened_at       TEXT NOT NULL,              -- UTC, RFC 3339 with milliseconds: the snapshot's moment
    opened_by       TEXT,
    closed_at       TEXT,                       -- posted or cancelled
    closed_by       TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,              -- hybrid logical clock
    updated_by      TEXT,
    origin_device   TEXT NOT NULL,
    deleted_at      TEXT
) STRICT;
-- At most one open take per store is the core's rule (not an index: two devices may each open
-- one offline, and a pulled row must never fail to apply).
CREATE INDEX stock_takes_store ON stock_takes (store_id, status);

CREATE TABLE stock_take_lines (
    id              TEXT PRIMARY KEY,
    take_id         TEXT NOT NULL REFERENCES stock_takes (id),
    item_id         TEXT NOT NULL REFERENCES stock_items (id),
    batch_id        TEXT NOT NULL REFERENCES stock_batches (id),
    position        INTEGER NOT NULL,
    expected        INTEGER NOT NULL,           -- the batch's balance in the store at the opening
    added           INTEGER NOT NULL DEFAULT 0 CHECK (added IN (0, 1)),  -- found on the shelf, not on the sheet
    counted         INTEGER CHECK (counted IS NULL OR counted >= 0),     -- base units; NULL: not counted yet
    counted_at      TEXT,                       -- when the count was entered (UTC, RFC 3339 ms)
    counted_by      TEXT,
    book            INTEGER,                    -- at posting: the ledger's balance when the count was entered
    adjustment_id   TEXT REFERENCES stock_movements (id),  -- at posting: the count correction written
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    updated_by      TEXT,
    origin_device   TEXT NOT NULL,
    deleted_at      TEXT
) STRICT;
CREATE INDEX stock_take_lines_take ON stock_take_lines (take_id, position);
