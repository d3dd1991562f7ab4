-- Inpatients (issue 15): wards, rooms and beds; admissions; and each bed's story as
-- append-only events. Who is in which bed is never stored: the bed board is derived from the
-- events (inpatients::board), so that two devices that gave one bed away offline settle it the
-- same way once synced, and nobody silently loses a bed.
-- Append-only: once landed, never edit this file; add a new migration instead.
CREATE TABLE wards (
    id              TEXT PRIMARY KEY,           -- UUIDv7
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('general', 'icu', 'maternity', 'paediatric', 'private', 'other')),
    bed_service_id  TEXT REFERENCES services (id),  -- the default daily bed charge (a tariff service)
    active          INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,              -- hybrid logical clock
    updated_by      TEXT,
    origin_device   TEXT NOT NULL,
    deleted_at      TEXT
) STRICT;

CREATE TABLE rooms (
    id              TEXT PRIMARY KEY,
    ward_id         TEXT NOT NULL REFERENCES wards (id),
    name            TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    updated_by      TEXT,
    origin_device   TEXT NOT NULL,
    deleted_at      TEXT
) STRICT;
CREATE INDEX rooms_ward ON rooms (ward_id);

CREATE TABLE beds (
    id              TEXT PRIMARY KEY,
    ward_id         TEXT NOT NULL REFERENCES wards (id),
    room_id         TEXT REFERENCES rooms (id),
    label           TEXT NOT NULL,
    tags            TEXT NOT NULL DEFAULT '[]', -- JSON array of short tags: oxygen, isolation, window
    bed_service_id  TEXT REFERENCES services (id),  -- overrides the ward's daily charge
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    updated_by      TEXT,
    origin_device   TEXT NOT NULL,
    deleted_at      TEXT
) STRICT;
CREATE INDEX beds_ward ON beds (ward_id);

-- One stay in hospital, from admission to discharge. Its beds are in bed_events.
CREATE TABLE admissions (
    id               TEXT PRIMARY KEY,
    patient_id       TEXT NOT NULL REFERENCES patients (id),
    doctor_id        TEXT NOT NULL REFERENCES staff (id),   -- the admitting doctor
    ward_id          TEXT NOT NULL REFERENCES wards (id),   -- the ward admitted to (its waiting list without a bed)
    reason           TEXT NOT NULL,
    diagnosis_code   TEXT NOT NULL DEFAULT '',              -- provisional, ICD-10
    diagnosis_text   TEXT NOT NULL DEFAULT '',
    expected_days    INTEGER CHECK (expected_days BETWEEN 1 AND 365),
    admitted_at      TEXT NOT NULL,                         -- UTC, RFC 3339
    admitted_by      TEXT,                                  -- users.id
    discharged_at    TEXT,
    discharged_by    TEXT,
    discharge_type   TEXT CHECK (discharge_type IN ('home', 'referred', 'against_advice', 'deceased')),
    discharge_note   TEXT NOT NULL DEFAULT '',
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    updated_by       TEXT,
    origin_device    TEXT NOT NULL,
    deleted_at       TEXT
) STRICT;
CREATE INDEX admissions_patient ON admissions (patient_id);
CREATE INDEX admissions_open ON admissions (discharged_at) WHERE discharged_at IS NULL AND deleted_at IS NULL;

-- A bed's story, append-only: rows are inserted, never updated. A transfer is two events
-- (transferred_out of the old bed, transferred_in to the new one) and a swap two `swapped`
-- events, each pair sharing a move_id so that the board applies them together.
CREATE TABLE bed_events (
    id              TEXT PRIMARY KEY,
    bed_id          TEXT NOT NULL REFERENCES beds (id),
    kind            TEXT NOT NULL CHECK (kind IN ('admitted', 'transferred_out', 'transferred_in', 'swapped', 'discharged',
                                                  'cleaning', 'cleaned', 'out_of_service', 'back_in_service')),
    admission_id    TEXT REFERENCES admissions (id),
    move_id         TEXT,
    at              TEXT NOT NULL,              -- UTC, RFC 3339 (clinic clock)
    reason          TEXT NOT NULL DEFAULT '',   -- out of service: why
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    updated_by      TEXT,
    origin_device   TEXT NOT NULL,
    deleted_at      TEXT
) STRICT;
CREATE INDEX bed_events_order ON bed_events (at, id);
CREATE INDEX bed_events_admission ON bed_events (admission_id) WHERE admission_id IS NOT NULL;
