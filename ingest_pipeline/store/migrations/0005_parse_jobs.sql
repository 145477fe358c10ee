-- Asynchronous parse jobs (LlamaParse). A document points at the job that parses its current
-- bytes; byte-identical documents share one job. Webhooks and polls move a job to a terminal
-- status; the sensor requests a run for it once; `parsed_text` consumes it.
CREATE TABLE parse_jobs (
    job_id        text PRIMARY KEY,
    sha256        text NOT NULL,
    parser        text NOT NULL,
    attempt       integer NOT NULL,
    status        text NOT NULL,
    error         text,
    submitted_at  timestamptz NOT NULL DEFAULT now(),
    checked_at    timestamptz,
    finished_at   timestamptz,
    requested_at  timestamptz,
    consumed_at   timestamptz
);
CREATE INDEX parse_jobs_bytes ON parse_jobs (sha256, parser, submitted_at DESC);
CREATE INDEX parse_jobs_open ON parse_jobs (submitted_at) WHERE consumed_at IS NULL;

ALTER TABLE documents ADD COLUMN parse_job_id text;
-- Pages a parser could not read, by page number, with its reason (a partial success).
ALTER TABLE documents ADD COLUMN page_errors jsonb NOT NULL DEFAULT '{}'::jsonb;
CREATE INDEX documents_parse_job ON documents (parse_job_id);

ALTER TABLE webhook_events ADD COLUMN outcome text;
