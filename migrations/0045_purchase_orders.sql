-- Purchase orders to suppliers (issue 16): drafted (by hand or from the suggested purchase
-- order), approved by an administrator when the clinic asks for it, sent, then received in
-- one or more deliveries, or cancelled.
--
-- The stored status is what people did: draft, approved, sent, cancelled. How much has arrived
-- is never stored: each receipt line against an order names the order's line
-- (`stock_receipt_lines.order_line_id`), and "partly received" / "received" are the sums of
-- those lines, so deliveries received on two devices offline add up once they meet.
-- Append-only: once landed, never edit this file; add a new migration instead.
CREATE TABLE purchase_orders (
    id              TEXT PRIMARY KEY,           -- UUIDv7
    number          TEXT NOT NULL,              -- PO-<device prefix>-000001
    supplier_id     TEXT NOT NULL REFERENCES suppliers (id),
    store_id        TEXT NOT NULL REFERENCES stock_stores (id),  -- where the goods are to arrive
    status          TEXT NOT NULL CHECK (status IN ('draft', 'approved', 'sent', 'cancelled')),
    note            TEXT NOT NULL DEFAULT '',
    created_by      TEXT NOT NULL,
    approved_by     TEXT,
    approved_at     TEXT,
    sent_at         TEXT,
    cancelled_at    TEXT,
    cancel_reason   TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    updated_by      TEXT,
    origin_device   TEXT NOT NULL,
    deleted_at      TEXT
) STRICT;
CREATE INDEX purchase_orders_created ON purchase_orders (created_at);

CREATE TABLE purchase_order_lines (
    id               TEXT PRIMARY KEY,
    order_id         TEXT NOT NULL REFERENCES purchase_orders (id),
    item_id          TEXT NOT NULL REFERENCES stock_items (id),
    packs            INTEGER NOT NULL CHECK (packs > 0),
    pack_cost_minor  INTEGER NOT NULL DEFAULT 0 CHECK (pack_cost_minor >= 0),  -- expected
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    updated_by       TEXT,
    origin_device    TEXT NOT NULL,
    deleted_at       TEXT
) STRICT;
CREATE INDEX purchase_order_lines_order ON purchase_order_lines (order_id);

ALTER TABLE stock_receipts ADD COLUMN purchase_order_id TEXT REFERENCES purchase_orders (id);
ALTER TABLE stock_receipt_lines ADD COLUMN order_line_id TEXT REFERENCES purchase_order_lines (id);
CREATE INDEX stock_receipt_lines_order_line ON stock_receipt_lines (order_line_id) WHERE order_line_id IS NOT NULL;
