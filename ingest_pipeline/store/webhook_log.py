"""The webhook_events table: every verified delivery kept once, by event id, until the retention period ends."""

from __future__ import annotations

import json

from sqlalchemy import Connection, text

from ingest_pipeline.domain.parse_job_status import WebhookEvent


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


def unconsumed(conn: Connection, source: str, limit: int) -> list[tuple[str, str, str]]:
    """(event_id, event_type, job_id) of events no sensor has taken yet, oldest first, locked for this
    transaction (concurrent readers skip them)."""
    return [tuple(row) for row in conn.execute(text(
        "SELECT event_id, event_type, job_id FROM webhook_events WHERE consumed_at IS NULL AND source = :source "
        "ORDER BY received_at LIMIT :limit FOR UPDATE SKIP LOCKED"), {"source": source, "limit": limit})]


def consume(conn: Connection, event_id: str, outcome: str) -> None:
    conn.execute(text("UPDATE webhook_events SET consumed_at = now(), outcome = :outcome WHERE event_id = :id"),
                 {"id": event_id, "outcome": outcome})


def prune(conn: Connection, retention_days: float) -> int:
    """Delete events received more than `retention_days` ago, consumed or not (a job that heard nothing
    is polled long before); how many went."""
    return conn.execute(text(
        "DELETE FROM webhook_events WHERE received_at < now() - make_interval(secs => :seconds)"
    ), {"seconds": retention_days * 86400.0}).rowcount
