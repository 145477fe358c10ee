"""The webhook_events table: every verified delivery kept once, by event id, until a sensor consumes it."""

from __future__ import annotations

import json

from sqlalchemy import Connection, text

from ingest_pipeline.webhook_events import WebhookEvent


def record(conn: Connection, source: str, event: WebhookEvent, body: bytes) -> bool:
    """Keep the event; False when this event id was already recorded (a duplicate or replay)."""
    payload = json.loads(body)
    if isinstance(payload, str):
        payload = json.loads(payload)
    inserted = conn.execute(text(
        "INSERT INTO webhook_events (event_id, source, event_type, job_id, sent_at, body) "
        "VALUES (:id, :source, :type, :job, :sent, CAST(:body AS jsonb)) ON CONFLICT (event_id) DO NOTHING "
        "RETURNING event_id"
    ), {"id": event.event_id, "source": source, "type": event.event_type, "job": event.job_id,
        "sent": event.timestamp, "body": json.dumps(payload)}).first()
    return inserted is not None
