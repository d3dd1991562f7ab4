-- Billing: the tariff (services and their prices over time), bills that become invoices,
-- their lines, payments (and advances and refunds), credit notes and insurance claims.
-- Money is integer minor units (paise); rates and percentages are basis points (18% = 1800).
-- Append-only: once landed, never edit this file; add a new migration instead.

CREATE TABLE services (
    id            TEXT PRIMARY KEY,          -- UUIDv7
    code          TEXT NOT NULL,
    name          TEXT NOT NULL,
    category      TEXT NOT NULL CHECK (category IN ('consultation', 'procedure', 'lab_test', 'pharmacy', 'bed_day', 'other')),
    tax_rate_bp   INTEGER NOT NULL DEFAULT 0 CHECK (tax_rate_bp BETWEEN 0 AND 10000),
    tax_exempt    INTEGER NOT NULL DEFAULT 0 CHECK (tax_exempt IN (0, 1)),
    active        INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,             -- hybrid logical clock
    updated_by    TEXT,
    origin_device TEXT NOT NULL,
    deleted_at    TEXT
) STRICT;
CREATE UNIQUE INDEX services_code ON services (code COLLATE NOCASE) WHERE deleted_at IS NULL;

-- A price holds from its date until the next one: changing a price never touches issued bills
-- (their lines keep the price they were billed at).
CREATE TABLE service_prices (
    id             TEXT PRIMARY KEY,
    service_id     TEXT NOT NULL REFERENCES services (id),
    effective_from TEXT NOT NULL,             -- YYYY-MM-DD, clinic local
    price_minor    INTEGER NOT NULL CHECK (price_minor >= 0),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    updated_by     TEXT,
    origin_device  TEXT NOT NULL,
    deleted_at     TEXT
) STRICT;
CREATE UNIQUE INDEX service_prices_from ON service_prices (service_id, effective_from) WHERE deleted_at IS NULL;

-- A patient's bill: a draft (open, lines may change) until finalized into an invoice with a
-- number; then only payments, refunds, credit notes or cancellation.
CREATE TABLE bills (
    id              TEXT PRIMARY KEY,
    patient_id      TEXT NOT NULL REFERENCES patients (id),
    status          TEXT NOT NULL CHECK (status IN ('draft', 'final', 'cancelled')),
    number          TEXT,                      -- minted at finalization: <series>-<sequence>
    currency        TEXT NOT NULL,
    finalized_at    TEXT,
    finalized_by    TEXT,
    -- The sums as finalized (minor units), so reports never recompute an issued invoice.
    subtotal_minor  INTEGER NOT NULL DEFAULT 0,
    discount_minor  INTEGER NOT NULL DEFAULT 0,
    tax_minor       INTEGER NOT NULL DEFAULT 0,
    total_minor     INTEGER NOT NULL DEFAULT 0,
    cancel_reason   TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    updated_by      TEXT,
    origin_device   TEXT NOT NULL,
    deleted_at      TEXT
) STRICT;
CREATE UNIQUE INDEX bills_number ON bills (number) WHERE number IS NOT NULL;
CREATE INDEX bills_patient ON bills (patient_id, created_at);
CREATE INDEX bills_status_created ON bills (status, created_at);
CREATE INDEX bills_created ON bills (created_at);
-- One open bill per patient: charges from the desk, check-in, lab and pharmacy gather there.
CREATE UNIQUE INDEX bills_one_draft ON bills (patient_id) WHERE status = 'draft' AND deleted_at IS NULL;
CREATE INDEX bills_finalized ON bills (finalized_at) WHERE finalized_at IS NOT NULL;

CREATE TABLE bill_lines (
    id                TEXT PRIMARY KEY,
    bill_id           TEXT NOT NULL REFERENCES bills (id),
    position          INTEGER NOT NULL,
    service_id        TEXT REFERENCES services (id),
    description       TEXT NOT NULL,
    category          TEXT NOT NULL,
    quantity          INTEGER NOT NULL CHECK (quantity > 0),
    unit_price_minor  INTEGER NOT NULL CHECK (unit_price_minor >= 0),
    discount_kind     TEXT NOT NULL CHECK (discount_kind IN ('none', 'amount', 'percent')),
    discount_value    INTEGER NOT NULL DEFAULT 0 CHECK (discount_value >= 0),
    tax_rate_bp       INTEGER NOT NULL CHECK (tax_rate_bp BETWEEN 0 AND 10000),
    -- Where an automatic charge came from (an appointment's check-in, later a lab order ...):
    -- the unique index keeps one event from being charged twice.
    source            TEXT NOT NULL DEFAULT 'manual',
    source_id         TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    updated_by        TEXT,
    origin_device     TEXT NOT NULL,
    deleted_at        TEXT
) STRICT;
CREATE INDEX bill_lines_bill ON bill_lines (bill_id, position);
CREATE UNIQUE INDEX bill_lines_source ON bill_lines (source, source_id) WHERE source_id IS NOT NULL AND deleted_at IS NULL;

-- Money in and out. kind: payment (against a finalized invoice, never above what is due),
-- advance (on the open bill, before finalization), refund (never above what was paid).
CREATE TABLE payments (
    id            TEXT PRIMARY KEY,
    bill_id       TEXT NOT NULL REFERENCES bills (id),
    kind          TEXT NOT NULL CHECK (kind IN ('payment', 'advance', 'refund')),
    mode          TEXT NOT NULL CHECK (mode IN ('cash', 'card', 'upi', 'bank_transfer', 'insurance')),
    amount_minor  INTEGER NOT NULL CHECK (amount_minor > 0),
    reference     TEXT NOT NULL DEFAULT '',
    note          TEXT NOT NULL DEFAULT '',
    received_at   TEXT NOT NULL,
    received_by   TEXT,
    receipt_no    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    updated_by    TEXT,
    origin_device TEXT NOT NULL,
    deleted_at    TEXT
) STRICT;
CREATE INDEX payments_bill ON payments (bill_id, received_at);
CREATE INDEX payments_received ON payments (received_at);
CREATE UNIQUE INDEX payments_receipt ON payments (receipt_no);

-- A credit note lowers what a finalized invoice asks for, instead of editing it.
CREATE TABLE credit_notes (
    id            TEXT PRIMARY KEY,
    bill_id       TEXT NOT NULL REFERENCES bills (id),
    number        TEXT NOT NULL,
    amount_minor  INTEGER NOT NULL CHECK (amount_minor > 0),
    reason        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    updated_by    TEXT,
    origin_device TEXT NOT NULL,
    deleted_at    TEXT
) STRICT;
CREATE INDEX credit_notes_bill ON credit_notes (bill_id);
CREATE UNIQUE INDEX credit_notes_number ON credit_notes (number);

CREATE TABLE bill_insurance (
    id              TEXT PRIMARY KEY,
    bill_id         TEXT NOT NULL UNIQUE REFERENCES bills (id),
    payer           TEXT NOT NULL,
    policy_no       TEXT NOT NULL DEFAULT '',
    preauth_no      TEXT NOT NULL DEFAULT '',
    claimed_minor   INTEGER NOT NULL DEFAULT 0 CHECK (claimed_minor >= 0),
    approved_minor  INTEGER NOT NULL DEFAULT 0 CHECK (approved_minor >= 0),
    settled_minor   INTEGER NOT NULL DEFAULT 0 CHECK (settled_minor >= 0),
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    updated_by      TEXT,
    origin_device   TEXT NOT NULL,
    deleted_at      TEXT
) STRICT;
