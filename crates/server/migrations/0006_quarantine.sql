-- A revoked device's changes received at or after `quarantined_since` are withheld from every
-- pull (`hms-server revoke DEVICE --quarantine --since TIME`): what a stolen device pushed
-- after it was lost never reaches the other devices. They stay stored, for the administrator.
ALTER TABLE devices ADD COLUMN quarantined_since TIMESTAMPTZ;
