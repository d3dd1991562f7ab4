-- Attachment files sent to the sync server: each content once per server and tenant
-- (`server` is "<server url> <tenant id>", so enrolling with another server sends them
-- again). A file is uploaded after a successful push; see sync::blobs. Local, never synced.
-- Append-only: once landed, never edit this file; add a new migration instead.
CREATE TABLE attachment_uploads (
    server       TEXT NOT NULL,
    sha256       TEXT NOT NULL,              -- lowercase hex, as attachments.sha256
    uploaded_at  TEXT NOT NULL,              -- RFC 3339
    PRIMARY KEY (server, sha256)
) STRICT, WITHOUT ROWID;
