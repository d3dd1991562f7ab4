-- Reports over a period: visits by when they started (morbidity, doctor performance), so a
-- month's report reads a month's visits instead of the whole table; and appointments by date
-- and slot hour (busiest hours), holding every column that report reads so it reads the
-- index alone.
-- Append-only: once landed, never edit this file; add a new migration instead.

CREATE INDEX visits_started ON visits (started_at, deleted_at, doctor_id);
CREATE INDEX appointments_date_hour ON appointments (date, status, deleted_at, start_min, doctor_id);
