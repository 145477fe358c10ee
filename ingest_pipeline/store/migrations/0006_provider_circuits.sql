-- One circuit per external provider, shared by every run and process: after enough consecutive
-- failures new work for it pauses until `open_until`, then one try decides whether it resumes.
CREATE TABLE provider_circuits (
    provider     text PRIMARY KEY,
    failures     integer NOT NULL DEFAULT 0,
    trips        integer NOT NULL DEFAULT 0,
    opened_at    timestamptz,
    open_until   timestamptz,
    last_error   text
);

-- The provider a document waits for while its circuit is open; cleared when it is queued again.
ALTER TABLE documents ADD COLUMN paused_for text;
CREATE INDEX documents_paused ON documents (paused_for) WHERE paused_for IS NOT NULL;
