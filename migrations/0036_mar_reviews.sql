-- Reviews of MAR entries the conflicts inbox shows (issue 15): a dose recorded twice by two
-- devices offline, or a PRN dose beyond its order's limit in 24 hours (each valid where it
-- was made; neither is ever dropped from the MAR). A review says what was found (given once
-- and charted twice; given twice and the doctor told; ...). Insert-only and synced, so every
-- device sees the entry reviewed and closes it in its inbox.
-- Append-only: once landed, never edit this file; add a new migration instead.
CREATE TABLE mar_reviews (
    id              TEXT PRIMARY KEY,           -- UUIDv7
    entry_id        TEXT NOT NULL REFERENCES mar_entries (id),
    note            TEXT NOT NULL,
    reviewed_at     TEXT NOT NULL,              -- UTC, RFC 3339 (milliseconds, Z)
    reviewed_by     TEXT,                       -- users.id
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,              -- hybrid logical clock
    updated_by      TEXT,
    origin_device   TEXT NOT NULL,
    deleted_at      TEXT
) STRICT;
CREATE INDEX mar_reviews_entry ON mar_reviews (entry_id);
