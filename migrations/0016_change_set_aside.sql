-- Changes the server refused (issue 12): an honest device whose change the server will never
-- take (a user demoted elsewhere while this device was offline, a change over the size limit)
-- sets the refused change's whole segment aside (a signed segment cannot be split) and
-- pushes the rest. The rows stay as they are on this device; the administrator sees the
-- refusal in the Sync screen's conflicts (kind `refused`) and decides.
-- set_aside_code: the server's error code (forbidden_change, change_too_large);
-- set_aside_reason: the server's reason for this change ("not_permitted: ...") or, for the
-- other changes of the segment, which change took them along.
-- Append-only: once landed, never edit this file; add a new migration instead.
ALTER TABLE change_log ADD COLUMN set_aside_at TEXT;
ALTER TABLE change_log ADD COLUMN set_aside_code TEXT;
ALTER TABLE change_log ADD COLUMN set_aside_reason TEXT;
