-- Doctors, staff and appointments: departments, specialties, staff profiles, weekly
-- sessions, exceptions (leave, extra sessions, cancelled sessions) and appointments.
-- Times of day are minutes after local midnight in the clinic's time zone; dates are the
-- clinic's local dates; instants are UTC RFC 3339.
-- Append-only: once landed, never edit this file; add a new migration instead.

CREATE TABLE departments (
    id            TEXT PRIMARY KEY,         -- UUIDv7
    name          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,            -- hybrid logical clock
    updated_by    TEXT,
    origin_device TEXT NOT NULL,
    deleted_at    TEXT
) STRICT;
CREATE UNIQUE INDEX departments_name ON departments (name COLLATE NOCASE) WHERE deleted_at IS NULL;

CREATE TABLE specialties (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    updated_by    TEXT,
    origin_device TEXT NOT NULL,
    deleted_at    TEXT
) STRICT;
CREATE UNIQUE INDEX specialties_name ON specialties (name COLLATE NOCASE) WHERE deleted_at IS NULL;

CREATE TABLE staff (
    id             TEXT PRIMARY KEY,
    user_id        TEXT REFERENCES users (id),   -- the account they sign in with, if any
    full_name      TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('admin', 'doctor', 'nurse', 'receptionist', 'pharmacist', 'lab_technician', 'accountant')),
    department_id  TEXT REFERENCES departments (id),
    qualifications TEXT NOT NULL DEFAULT '',
    licence_no     TEXT NOT NULL DEFAULT '',
    specialty_ids  TEXT NOT NULL DEFAULT '[]',  -- JSON array of specialties.id
    phone          TEXT NOT NULL DEFAULT '',
    email          TEXT NOT NULL DEFAULT '',
    fee_minor      INTEGER NOT NULL DEFAULT 0 CHECK (fee_minor >= 0),  -- consultation fee, minor units
    active         INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    updated_by     TEXT,
    origin_device  TEXT NOT NULL,
    deleted_at     TEXT
) STRICT;
CREATE UNIQUE INDEX staff_user ON staff (user_id) WHERE user_id IS NOT NULL AND deleted_at IS NULL;

-- Which staff hold which specialty: a local index of staff.specialty_ids, rebuilt on write.
CREATE TABLE staff_specialties (
    specialty_id TEXT NOT NULL,
    staff_id     TEXT NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    PRIMARY KEY (specialty_id, staff_id)
) STRICT, WITHOUT ROWID;

-- A doctor's weekly availability: one row per session (e.g. Monday 09:00-13:00, 15-minute slots).
CREATE TABLE doctor_sessions (
    id            TEXT PRIMARY KEY,
    doctor_id     TEXT NOT NULL REFERENCES staff (id),
    weekday       INTEGER NOT NULL CHECK (weekday BETWEEN 1 AND 7),   -- ISO: 1 = Monday
    start_min     INTEGER NOT NULL CHECK (start_min BETWEEN 0 AND 1439),
    end_min       INTEGER NOT NULL CHECK (end_min BETWEEN 1 AND 1440),
    slot_minutes  INTEGER NOT NULL CHECK (slot_minutes BETWEEN 5 AND 240),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    updated_by    TEXT,
    origin_device TEXT NOT NULL,
    deleted_at    TEXT,
    CHECK (end_min > start_min)
) STRICT;
CREATE INDEX doctor_sessions_doctor ON doctor_sessions (doctor_id, weekday) WHERE deleted_at IS NULL;

-- Exceptions on a date: leave (the whole day, or a time range), an extra session, or one
-- weekly session cancelled.
CREATE TABLE schedule_exceptions (
    id            TEXT PRIMARY KEY,
    doctor_id     TEXT NOT NULL REFERENCES staff (id),
    date          TEXT NOT NULL,                       -- YYYY-MM-DD, clinic local
    kind          TEXT NOT NULL CHECK (kind IN ('leave', 'extra', 'cancelled')),
    session_id    TEXT REFERENCES doctor_sessions (id), -- cancelled: which session
    start_min     INTEGER,                             -- leave (NULL = all day) and extra
    end_min       INTEGER,
    slot_minutes  INTEGER,                             -- extra
    reason        TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    updated_by    TEXT,
    origin_device TEXT NOT NULL,
    deleted_at    TEXT
) STRICT;
CREATE INDEX schedule_exceptions_doctor_date ON schedule_exceptions (doctor_id, date) WHERE deleted_at IS NULL;

CREATE TABLE appointments (
    id               TEXT PRIMARY KEY,
    patient_id       TEXT NOT NULL REFERENCES patients (id),
    doctor_id        TEXT NOT NULL REFERENCES staff (id),
    date             TEXT NOT NULL,              -- clinic local date
    start_min        INTEGER NOT NULL,           -- clinic local time of day
    end_min          INTEGER NOT NULL,
    starts_at        TEXT NOT NULL,              -- UTC instant
    ends_at          TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('booked', 'checked_in', 'with_doctor', 'done', 'cancelled', 'no_show')),
    overbooked       INTEGER NOT NULL DEFAULT 0 CHECK (overbooked IN (0, 1)),  -- explicit, permission-guarded
    walk_in          INTEGER NOT NULL DEFAULT 0 CHECK (walk_in IN (0, 1)),
    token            TEXT,                       -- queue token, minted at check-in
    reason           TEXT NOT NULL DEFAULT '',
    cancel_reason    TEXT NOT NULL DEFAULT '',
    rescheduled_from TEXT,                       -- the appointment this one replaced
    checked_in_at    TEXT,
    called_at        TEXT,
    done_at          TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    updated_by       TEXT,
    origin_device    TEXT NOT NULL,
    deleted_at       TEXT,
    CHECK (end_min > start_min)
) STRICT;
-- The no-double-booking guarantee, in the database as well as in core: one active,
-- regular booking per doctor per slot start.
CREATE UNIQUE INDEX appointments_one_per_slot ON appointments (doctor_id, date, start_min)
    WHERE status IN ('booked', 'checked_in', 'with_doctor', 'done') AND overbooked = 0 AND walk_in = 0 AND deleted_at IS NULL;
CREATE INDEX appointments_doctor_date ON appointments (doctor_id, date, start_min);
CREATE INDEX appointments_patient ON appointments (patient_id, date);
CREATE UNIQUE INDEX appointments_token ON appointments (doctor_id, date, token) WHERE token IS NOT NULL;
