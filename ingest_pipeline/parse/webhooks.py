"""LlamaParse webhook deliveries: signature check and event parsing, as plain functions."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re

from ingest_pipeline.domain.parse_job_status import WebhookEvent

# Where our API receives them: the route, and the URL given to LlamaParse with each job.
WEBHOOK_PATH = "/webhooks/llamaparse"
SIGNATURE_HEADER = "LC-Signature"
_SIGNATURE_PREFIX = "sha256="
# Events are a few hundred bytes: the receiver refuses a larger body from its Content-Length, or as
# soon as it has read this much, so an unauthenticated sender cannot make it hold more.
MAX_WEBHOOK_BYTES = 1024 * 1024
MAX_EVENT_ID_CHARS = 256
MAX_EVENT_TYPE_CHARS = 128
MAX_JOB_ID_CHARS = 256
# The default of INGEST_WEBHOOK_RETENTION_DAYS: recorded events older than this are deleted.
WEBHOOK_RETENTION_DAYS = 30
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class InvalidEvent(ValueError):
    """The body is not a webhook event we understand; answered with 400, recorded nowhere."""


def sign(secret: str, body: bytes) -> str:
    """The LC-Signature header value LlamaCloud sends: HMAC-SHA256 of the raw body."""
    return _SIGNATURE_PREFIX + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def signature_is_valid(secret: str, body: bytes, header: str | None) -> bool:
    """Constant-time check of the header against the raw body; missing or malformed is invalid."""
    if not secret or not header or not header.startswith(_SIGNATURE_PREFIX):
        return False
    return hmac.compare_digest(sign(secret, body), header.strip())


def parse_event(body: bytes) -> WebhookEvent:
    """Read an event from a JSON object body or a JSON-encoded string holding one (both are sent).

    Anything else is `InvalidEvent`, never another error: a signed event we cannot read must get a
    400, which tells the sender to stop, not a 500, which it would deliver again for ever.
    """
    if len(body) > MAX_WEBHOOK_BYTES:
        raise InvalidEvent(f"the body is larger than {MAX_WEBHOOK_BYTES} bytes")
    payload = _json_object(body)
    data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
    job_id = data.get("job_id") or data.get("id")
    fields = {"event_id": (payload.get("event_id"), MAX_EVENT_ID_CHARS),
              "event_type": (payload.get("event_type"), MAX_EVENT_TYPE_CHARS),
              "data.job_id": (job_id, MAX_JOB_ID_CHARS)}
    for name, (value, limit) in fields.items():
        _check_field(name, value, limit)
    _check_storable(payload)
    return WebhookEvent(payload["event_id"], payload["event_type"], job_id, _timestamp(payload.get("timestamp")))


def _json_object(body: bytes) -> dict:
    try:
        payload = json.loads(body, parse_constant=_refuse_constant, parse_float=_finite_float)
        if isinstance(payload, str):
            payload = json.loads(payload, parse_constant=_refuse_constant, parse_float=_finite_float)
    # RecursionError: nesting deeper than the parser's stack; ValueError also covers over-long integers.
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise InvalidEvent(f"the body is not JSON: {str(error)[:200]}") from None
    if not isinstance(payload, dict):
        raise InvalidEvent("the body is not a JSON object")
    return payload


def _check_field(name: str, value: object, limit: int) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidEvent(f"the event lacks {name} (a non-empty string)")
    if len(value) > limit:
        raise InvalidEvent(f"the event's {name} is longer than {limit} characters")
    if _CONTROL.search(value):
        raise InvalidEvent(f"the event's {name} holds control characters")


def _check_storable(payload: dict) -> None:
    """Strings Postgres refuses in jsonb (NUL, lone surrogates) anywhere in the body, walked without recursion."""
    pending: list = [payload]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidEvent("the body holds an unpaired UTF-16 surrogate") from None
            if "\x00" in item:
                raise InvalidEvent("the body holds a NUL character")


def _timestamp(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        seconds = float(value)
    except OverflowError:  # an integer of hundreds of digits
        return None
    return seconds if math.isfinite(seconds) else None


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:20]} is out of range")
    return value
