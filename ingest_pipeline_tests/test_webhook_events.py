"""LlamaParse webhook bodies: only correctly signed bodies verify, and both body forms parse to the same event."""

from __future__ import annotations

import json

import pytest

from ingest_pipeline.parse.webhooks import InvalidEvent, parse_event, sign, signature_is_valid

SECRET = "whsec-test"
EVENT = {"event_id": "evt_1", "event_type": "parse.success", "timestamp": 1763900000.5,
         "data": {"id": "job_9", "job_id": "job_9"}}
BODY = json.dumps(EVENT).encode()


@pytest.mark.parametrize("header, valid", [
    (sign(SECRET, BODY), True),
    (sign("another-secret", BODY), False),
    (sign(SECRET, BODY + b" "), False),            # any change to the body breaks it
    (sign(SECRET, BODY).replace("sha256=", ""), False),
    ("sha256=" + "0" * 64, False),
    ("", False),
    (None, False),
])
def test_signature(header, valid):
    assert signature_is_valid(SECRET, BODY, header) is valid


def test_no_secret_configured_means_nothing_verifies():
    assert not signature_is_valid("", BODY, sign("", BODY))


@pytest.mark.parametrize("body", [BODY, json.dumps(json.dumps(EVENT)).encode()])
def test_object_and_json_encoded_string_bodies_parse_alike(body):
    event = parse_event(body)
    assert (event.event_id, event.event_type, event.job_id, event.timestamp) == (
        "evt_1", "parse.success", "job_9", 1763900000.5)


@pytest.mark.parametrize("body", [b"", b"not json", b"[1, 2]", b'"just a string"',
                                  json.dumps({"event_id": "e", "event_type": "parse.error"}).encode(),
                                  json.dumps({**EVENT, "event_id": 7}).encode()])
def test_bodies_that_are_not_events_are_refused(body):
    with pytest.raises(InvalidEvent):
        parse_event(body)
