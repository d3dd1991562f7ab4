-- hms-server: tenants, devices, enrolment codes and the append-only change table.
-- Append-only: once landed, never edit this file; add a new migration instead.

-- A tenant is a clinic (or a group of clinics that share one record).
CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,                      -- UUIDv7
    name        TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- An enrolled device. Its token is `<id>.<64 hex chars>`; only sha256 of the secret part is
-- kept, so a leaked database does not hand out working tokens.
CREATE TABLE devices (
    id              TEXT PRIMARY KEY,                  -- the device's id in its change log
    tenant_id       TEXT NOT NULL REFERENCES tenants (id),
    name            TEXT NOT NULL,
    token_hash      BYTEA NOT NULL CHECK (length(token_hash) = 32),
    enrolled_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_seen_at    TIMESTAMPTZ,
    last_device_seq BIGINT NOT NULL DEFAULT 0,         -- highest device seq pushed
    revoked_at      TIMESTAMPTZ,
    UNIQUE (tenant_id, id)
);
CREATE INDEX devices_tenant ON devices (tenant_id, enrolled_at);

-- One-time enrolment codes, stored hashed (sha256 of the normalised code).
CREATE TABLE enrolment_codes (
    code_hash   BYTEA PRIMARY KEY CHECK (length(code_hash) = 32),
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ,
    used_by     TEXT REFERENCES devices (id)
);

-- Every change every device pushed, in server order. `seq` is global; a tenant's changes are
-- the rows with its tenant_id, and pull pages through them by seq.
CREATE TABLE changes (
    seq         BIGSERIAL PRIMARY KEY,                 -- the server sequence
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    device_id   TEXT NOT NULL,
    device_seq  BIGINT NOT NULL CHECK (device_seq > 0),
    change_id   TEXT NOT NULL,                         -- change_log.id on the device
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    op          TEXT NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
    data        JSONB NOT NULL,
    hlc         TEXT NOT NULL,
    user_id     TEXT,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- A change belongs to its device's tenant, whatever the code that stored it.
    FOREIGN KEY (tenant_id, device_id) REFERENCES devices (tenant_id, id),
    -- Push is idempotent: a device's change is stored once whatever the number of retries.
    CONSTRAINT changes_device_seq UNIQUE (tenant_id, device_id, device_seq)
);
CREATE INDEX changes_tenant_seq ON changes (tenant_id, seq);

CREATE FUNCTION changes_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'changes is append-only';
END;
$$;
CREATE TRIGGER changes_no_update BEFORE UPDATE OR DELETE ON changes
    FOR EACH ROW EXECUTE FUNCTION changes_append_only();
CREATE TRIGGER changes_no_truncate BEFORE TRUNCATE ON changes
    FOR EACH STATEMENT EXECUTE FUNCTION changes_append_only();
