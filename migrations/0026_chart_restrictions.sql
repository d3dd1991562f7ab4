-- Restricted charts (issue 14): a doctor or an administrator marks a patient's clinical record
-- restricted, with a reason; it then opens only for its care team (see clinical::restriction)
-- or through emergency ("break-glass") access. A restriction is a synced fact: lifting it
-- sets lifted_at/lifted_by/lift_reason on the same row. A patient is restricted while any of
-- its rows is not lifted (a merge moves the rows to the surviving record).
-- Append-only: once landed, never edit this file; add a new migration instead.
CREATE TABLE chart_restrictions (
    id             TEXT PRIMARY KEY,           -- UUIDv7
    patient_id     TEXT NOT NULL REFERENCES patients (id),
    reason         TEXT NOT NULL,
    restricted_by  TEXT NOT NULL,              -- users.id: on the care team
    restricted_at  TEXT NOT NULL,              -- UTC, RFC 3339
    lifted_at      TEXT,
    lifted_by      TEXT,
    lift_reason    TEXT NOT NULL DEFAULT '',
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,              -- hybrid logical clock
    updated_by     TEXT,
    origin_device  TEXT NOT NULL,
    deleted_at     TEXT
) STRICT;
CREATE INDEX chart_restrictions_patient ON chart_restrictions (patient_id) WHERE lifted_at IS NULL AND deleted_at IS NULL;
