"""LlamaParse webhook deliveries: signature check and event parsing, as plain functions."""

from __future__ import annotations

import hashlib
import hmac
import json

from ingest_pipeline.domain.parse_job_status import WebhookEvent

# Where our API receives them: the route, and the URL given to LlamaParse with each job.
WEBHOOK_PATH = "/webhooks/llamaparse"
SIGNATURE_HEADER = "LC-Signature"
_SIGNATURE_PREFIX = "sha256="


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
    """Read an event from a JSON object body or a JSON-encoded string holding one (both are sent)."""
    try:
        payload = json.loads(body)
        if isinstance(payload, str):
            payload = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidEvent(f"the body is not JSON: {error}") from error
    if not isinstance(payload, dict):
        raise InvalidEvent("the body is not a JSON object")
    data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
    event_id, event_type = payload.get("event_id"), payload.get("event_type")
    job_id = data.get("job_id") or data.get("id")
    if not all(isinstance(value, str) and value for value in (event_id, event_type, job_id)):
        raise InvalidEvent("the event lacks event_id, event_type or data.job_id")
    timestamp = payload.get("timestamp")
    return WebhookEvent(event_id, event_type, job_id, float(timestamp) if isinstance(timestamp, (int, float)) else None)
