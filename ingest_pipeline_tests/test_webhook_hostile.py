"""Signed webhooks we cannot read get a 400 (never a 500 the provider would redeliver), and old events are pruned."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import text

from ingest_pipeline.domain.providers import LLAMAPARSE
from ingest_pipeline.parse.webhooks import (
    MAX_EVENT_ID_CHARS,
    MAX_EVENT_TYPE_CHARS,
    MAX_JOB_ID_CHARS,
    WEBHOOK_PATH,
    InvalidEvent,
    parse_event,
    sign,
)
from ingest_pipeline.service.application import Application
from ingest_pipeline.settings import Settings
from ingest_pipeline.store import webhook_log
from ingest_pipeline_tests.raw_http import PATIENCE_SECONDS, bounded_api

SECRET = "whsec-hostile-test"


def _event(**changes) -> dict:
    event = {"event_id": "evt_1", "event_type": "parse.success", "timestamp": 1763900000.0,
             "data": {"job_id": "job_1"}}
    event.update(changes)
    return event


MALFORMED = {
    "not JSON": b"{not json",
    "not UTF-8": b'{"event_id": "\xff"}',
    "not an object": b"[1, 2, 3]",
    "a string holding no object": json.dumps("just text").encode(),
    "nested past the parser's depth": b"[" * 100_000 + b"]" * 100_000,
    "no event_id": json.dumps({k: v for k, v in _event().items() if k != "event_id"}).encode(),
    "an empty event_id": json.dumps(_event(event_id="")).encode(),
    "a numeric event_id": json.dumps(_event(event_id=17)).encode(),
    "an event_type object": json.dumps(_event(event_type={"a": 1})).encode(),
    "data not an object": json.dumps(_event(data=["job_1"])).encode(),
    "a job id list": json.dumps(_event(data={"job_id": ["job_1"]})).encode(),
    "NaN": json.dumps(_event(timestamp=float("nan"))).encode(),
    "a float past the double range": json.dumps(_event()).replace("1763900000.0", "1e400").encode(),
    "a NUL in a field": json.dumps(_event(data={"job_id": "job_1", "note": "a\x00b"})).encode(),
    "an unpaired surrogate": json.dumps(_event(data={"job_id": "job_1", "note": "\ud800"})).encode(),
    "a control character in event_id": json.dumps(_event(event_id="evt\n1")).encode(),
    "event_id too long": json.dumps(_event(event_id="e" * (MAX_EVENT_ID_CHARS + 1))).encode(),
    "event_type too long": json.dumps(_event(event_type="t" * (MAX_EVENT_TYPE_CHARS + 1))).encode(),
    "job id too long": json.dumps(_event(data={"job_id": "j" * (MAX_JOB_ID_CHARS + 1)})).encode(),
}


@pytest.fixture
def receiver(environment, instance):
    app = Application(Settings.from_env({**environment, "INGEST_WEBHOOK_SECRET": SECRET,
                                         "INGEST_WEBHOOK_RETENTION_DAYS": "30"}))
    with bounded_api(app, instance) as url, httpx.Client(base_url=url, timeout=PATIENCE_SECONDS) as client:
        yield client


def _post(client: httpx.Client, body: bytes) -> httpx.Response:
    return client.post(WEBHOOK_PATH, content=body, headers={"LC-Signature": sign(SECRET, body)})


def _event_ids(engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT event_id FROM webhook_events ORDER BY event_id")).scalars())


def test_each_kind_of_signed_malformed_event_gets_400_and_records_nothing(receiver, engine):
    for kind, body in MALFORMED.items():
        answer = _post(receiver, body)
        assert answer.status_code == 400, kind
        assert answer.json()["detail"].startswith("not a webhook event: "), kind
        with pytest.raises(InvalidEvent):
            parse_event(body)
    assert _event_ids(engine) == []


def test_fields_at_their_limits_and_a_huge_integer_timestamp_are_accepted(receiver, engine):
    body = json.dumps(_event(event_id="e" * MAX_EVENT_ID_CHARS, event_type="t" * MAX_EVENT_TYPE_CHARS,
                             timestamp=10 ** 400, data={"job_id": "j" * MAX_JOB_ID_CHARS})).encode()
    assert _post(receiver, body).status_code == 202
    assert parse_event(body).timestamp is None
    assert _event_ids(engine) == ["e" * MAX_EVENT_ID_CHARS]


def _age(engine, event_id: str, days: float) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE webhook_events SET received_at = now() - make_interval(secs => :s) "
                          "WHERE event_id = :id"), {"s": days * 86400, "id": event_id})


def test_recording_an_event_prunes_events_older_than_the_retention_period_at_most_once_per_interval(
        receiver, engine):
    with engine.begin() as conn:
        for event_id in ("evt_old", "evt_recent"):
            body = json.dumps(_event(event_id=event_id)).encode()
            webhook_log.record(conn, LLAMAPARSE, parse_event(body), body)
    _age(engine, "evt_old", 31)
    _age(engine, "evt_recent", 29)
    assert _post(receiver, json.dumps(_event(event_id="evt_new")).encode()).status_code == 202
    assert _event_ids(engine) == ["evt_new", "evt_recent"]
    # Pruned again only after PRUNE_EVERY_SECONDS: one DELETE per interval, however many deliveries.
    _age(engine, "evt_recent", 31)
    assert _post(receiver, json.dumps(_event(event_id="evt_newer")).encode()).status_code == 202
    assert _event_ids(engine) == ["evt_new", "evt_newer", "evt_recent"]


def test_prune_deletes_by_age_consumed_or_not(receiver, engine):
    for event_id in ("evt_a", "evt_b", "evt_c"):
        _post(receiver, json.dumps(_event(event_id=event_id)).encode())
    with engine.begin() as conn:
        webhook_log.consume(conn, "evt_a", "job done")
    _age(engine, "evt_a", 3)
    _age(engine, "evt_b", 3)
    with engine.begin() as conn:
        assert webhook_log.prune(conn, retention_days=2) == 2
    assert _event_ids(engine) == ["evt_c"]
