-- Attachment files (blobs), content-addressed per tenant: the record of an attachment syncs as
-- a change, its file is uploaded here once and fetched by the tenant's other devices.
-- Append-only: once landed, never edit this file; add a new migration instead.
CREATE TABLE blobs (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    sha256      TEXT NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),   -- of bytes, lowercase hex
    bytes       BYTEA NOT NULL,
    size        BIGINT NOT NULL CHECK (size = length(bytes)),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, sha256)
);
