-- Webhook deliveries, recorded before they are answered: a webhook is only a hint that a job
-- changed, so each event is kept once (by event_id) and consumed by a sensor later.
CREATE TABLE webhook_events (
    event_id     text PRIMARY KEY,
    source       text NOT NULL,
    event_type   text NOT NULL,
    job_id       text NOT NULL,
    sent_at      double precision,
    received_at  timestamptz NOT NULL DEFAULT now(),
    consumed_at  timestamptz,
    body         jsonb NOT NULL
);
CREATE INDEX webhook_events_unconsumed ON webhook_events (received_at) WHERE consumed_at IS NULL;
CREATE INDEX webhook_events_job ON webhook_events (job_id);
