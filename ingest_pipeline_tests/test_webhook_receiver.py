"""POST /webhooks/llamaparse: signed events are recorded once; unsigned, forged or malformed ones change nothing."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from ingest_pipeline.api.app import create_app
from ingest_pipeline.parse.webhooks import sign
from ingest_pipeline.service.application import Application
from ingest_pipeline.settings import Settings

SECRET = "whsec-receiver-test"


@pytest.fixture
def client(environment):
    app = Application(Settings.from_env({**environment, "INGEST_WEBHOOK_SECRET": SECRET,
                                         "INGEST_API_TOKEN": "api-token"}))
    return TestClient(create_app(app, api_token="api-token"))


def _event(event_id="evt_1", job_id="job_1", event_type="parse.success") -> bytes:
    return json.dumps({"event_id": event_id, "event_type": event_type, "timestamp": 1763900000.0,
                       "data": {"id": job_id, "job_id": job_id}}).encode()


def _post(client, body: bytes, secret: str | None = SECRET):
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["LC-Signature"] = sign(secret, body)
    return client.post("/webhooks/llamaparse", content=body, headers=headers)


def _recorded(engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(text("SELECT event_id, event_type, job_id FROM webhook_events ORDER BY 1")).all()


def test_a_signed_event_is_recorded_once_and_a_replay_is_answered_without_a_second_row(client, engine):
    body = _event()
    first, again = _post(client, body), _post(client, body)
    assert (first.status_code, first.json()) == (202, {"event_id": "evt_1", "recorded": True})
    assert (again.status_code, again.json()["recorded"]) == (200, False)
    assert _recorded(engine) == [("evt_1", "parse.success", "job_1")]


def test_the_json_encoded_string_form_is_accepted(client, engine):
    body = json.dumps(_event("evt_str").decode()).encode()
    assert _post(client, body).status_code == 202
    assert _recorded(engine) == [("evt_str", "parse.success", "job_1")]


@pytest.mark.parametrize("secret", [None, "a-forged-secret"])
def test_unsigned_or_forged_events_get_401_and_change_nothing(client, engine, secret):
    assert _post(client, _event(), secret=secret).status_code == 401
    assert _recorded(engine) == []


def test_a_signed_body_that_is_not_an_event_gets_400(client, engine):
    assert _post(client, b'{"hello": "world"}').status_code == 400
    assert _recorded(engine) == []


def test_an_unknown_job_is_recorded_not_an_error(client, engine):
    assert _post(client, _event("evt_x", job_id="job_nobody_submitted")).status_code == 202


def test_webhooks_need_no_bearer_token_but_documents_do(client):
    assert client.get("/documents").status_code == 401
    assert _post(client, _event("evt_t")).status_code == 202
