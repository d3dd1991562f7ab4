-- Proven changes (issue 12): each device registers an Ed25519 public key at enrolment (hex),
-- and every pushed segment of its changes must be signed by it. The last change of a segment
-- keeps the segment's proof (hms_protocol::Proof as JSON).
-- Append-only: once landed, never edit this file; add a new migration instead.
ALTER TABLE devices ADD COLUMN public_key TEXT;
ALTER TABLE changes ADD COLUMN proof JSONB;
