-- "Connect again" (issue 12): an enrolment code may name the revoked device it lets back in
-- (`hms-server enrol-code TENANT --replaces DEVICE`). Only that device, under its own id and
-- with the key it registered, can use it: it gets a new token, and its changes received from
-- then on are not withheld by its quarantine (the administrator vouched by making the code),
-- so the work it could not send while revoked arrives. `readmitted_at` ends the quarantine's
-- window; quarantining the device again starts a new one.
-- Append-only: once landed, never edit this file; add a new migration instead.
ALTER TABLE enrolment_codes ADD COLUMN replaces TEXT REFERENCES devices (id);
ALTER TABLE devices ADD COLUMN readmitted_at TIMESTAMPTZ;
