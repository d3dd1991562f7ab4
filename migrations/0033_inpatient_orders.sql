-- Inpatient orders, the medication administration record (MAR) and ward notes (issue 15).
-- An order is written once and stopped once (a change is a stop plus a new order that names
-- the old one in replaces_id). MAR entries and notes are append-only: rows are inserted,
-- never updated, so two devices that recorded the same dose both keep their record and the
-- MAR settles which one counts the same way everywhere (inpatients::mar).
-- Append-only: once landed, never edit this file; add a new migration instead.
CREATE TABLE inpatient_orders (
    id                  TEXT PRIMARY KEY,       -- UUIDv7
    admission_id        TEXT NOT NULL REFERENCES admissions (id),
    kind                TEXT NOT NULL CHECK (kind IN ('medicine', 'lab', 'diet', 'nursing')),
    -- medicine: what, how much, how; its schedule
    medicine_id         TEXT REFERENCES medicines (id),
    dose                TEXT NOT NULL DEFAULT '',   -- "500", "1"
    dose_unit           TEXT NOT NULL DEFAULT '',   -- mg, tablet, ml
    route               TEXT NOT NULL DEFAULT '',   -- oral, iv, ...
    schedule            TEXT CHECK (schedule IN ('times', 'every', 'prn', 'stat')),
    times_pattern       TEXT NOT NULL DEFAULT '',   -- schedule 'times': "1-0-1" (morning-noon-night) or four parts
    every_hours         INTEGER CHECK (every_hours BETWEEN 1 AND 24),  -- schedule 'every'; nursing: vitals every N hours
    prn_max_per_day     INTEGER CHECK (prn_max_per_day BETWEEN 1 AND 24),
    -- lab: the test, and the lab order it made (the lab's pending list and the bill)
    lab_test_id         TEXT REFERENCES lab_tests (id),
    lab_order_id        TEXT REFERENCES lab_orders (id),
    instructions        TEXT NOT NULL DEFAULT '',   -- diet, nursing instruction, a medicine's note
    start_at            TEXT NOT NULL,              -- UTC, RFC 3339 (milliseconds, Z)
    end_at              TEXT,
    ordered_by          TEXT,                       -- users.id
    replaces_id         TEXT REFERENCES inpatient_orders (id),  -- a change: the order it replaced
    stopped_at          TEXT,
    stopped_by          TEXT,
    stop_reason         TEXT NOT NULL DEFAULT '',
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,              -- hybrid logical clock
    updated_by          TEXT,
    origin_device       TEXT NOT NULL,
    deleted_at          TEXT
) STRICT;
CREATE INDEX inpatient_orders_admission ON inpatient_orders (admission_id);

-- One dose's outcome: given, held, refused or missed (a reason unless given), or a PRN dose
-- given (with its reason). scheduled_at names the dose of the schedule (NULL for PRN). Two rows
-- for one order and scheduled_at can meet after a sync: the earlier (given_at, id) counts and
-- the other is shown as recorded twice; neither is dropped.
CREATE TABLE mar_entries (
    id              TEXT PRIMARY KEY,
    order_id        TEXT NOT NULL REFERENCES inpatient_orders (id),
    scheduled_at    TEXT,                       -- UTC, the dose's time in the schedule
    outcome         TEXT NOT NULL CHECK (outcome IN ('given', 'held', 'refused', 'missed')),
    reason          TEXT NOT NULL DEFAULT '',
    given_at        TEXT NOT NULL,              -- UTC: when it was given (or recorded as not given)
    recorded_by     TEXT,                       -- users.id
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    updated_by      TEXT,
    origin_device   TEXT NOT NULL,
    deleted_at      TEXT
) STRICT;
CREATE INDEX mar_entries_order ON mar_entries (order_id, scheduled_at);

-- Daily progress notes (doctors) and nursing notes per shift (nurses).
CREATE TABLE inpatient_notes (
    id              TEXT PRIMARY KEY,
    admission_id    TEXT NOT NULL REFERENCES admissions (id),
    kind            TEXT NOT NULL CHECK (kind IN ('progress', 'nursing')),
    shift           TEXT CHECK (shift IN ('morning', 'evening', 'night')),
    body            TEXT NOT NULL,
    written_at      TEXT NOT NULL,
    written_by      TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    updated_by      TEXT,
    origin_device   TEXT NOT NULL,
    deleted_at      TEXT
) STRICT;
CREATE INDEX inpatient_notes_admission ON inpatient_notes (admission_id, written_at);
