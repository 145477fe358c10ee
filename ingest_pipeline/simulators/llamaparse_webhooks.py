"""Delivery of LlamaParse webhook events as the real service sends them: body, headers, signature, retries and faults."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from dataclasses import dataclass, field

import httpx

from ingest_pipeline.simulators.llamaparse_faults import JobFate
from ingest_pipeline.simulators.llamaparse_stats import ParseStats

USER_AGENT = "llamaindex-webhook-service/1.0"
# The event each terminal outcome announces.
EVENT_TYPES = {
    "completed": "parse.success",
    "partial": "parse.partial_success",
    "failed": "parse.error",
    "cancelled": "parse.cancelled",
}


@dataclass(frozen=True)
class DeliverySettings:
    """How hard the simulator tries: `backoff_seconds` are the waits between attempts (real service: 1 s, 2 s)."""

    backoff_seconds: tuple[float, ...] = (1.0, 2.0)
    timeout_seconds: float = 30.0
    # Used for jobs whose webhook configuration has no `webhook_signing_secret` of its own.
    default_secret: str | None = None


@dataclass
class WebhookSender:
    settings: DeliverySettings
    stats: ParseStats
    stop: threading.Event = field(default_factory=threading.Event)

    def announce(self, job_id: str, outcome: str, configurations: list[dict], fate: JobFate, stale_since: float) -> None:
        """Send the outcome's event to every subscribed configuration, from a thread of its own (never blocks the job).

        `stale_since` stamps the out-of-order fault's stale event: the time the job started running.
        """
        event_type = EVENT_TYPES[outcome]
        for configuration in configurations:
            events = configuration.get("webhook_events")
            if not configuration.get("webhook_url") or (events is not None and event_type not in events):
                continue
            threading.Thread(
                target=self._deliver_all, args=(job_id, event_type, configuration, fate, stale_since),
                name=f"llamaparse-webhook-{job_id}", daemon=True,
            ).start()

    def _deliver_all(self, job_id: str, event_type: str, configuration: dict, fate: JobFate, stale_since: float) -> None:
        if fate.webhook_drop:
            self.stats.count("webhooks_dropped")
            return
        if fate.webhook_delay and self.stop.wait(fate.webhook_delay_seconds):
            return
        event = _event(job_id, event_type, time.time())
        self._deliver(configuration, event, signed=not fate.webhook_unsigned)
        if fate.webhook_duplicate:
            self.stats.count("webhooks_duplicated")
            self._deliver(configuration, event, signed=not fate.webhook_unsigned)
        if fate.webhook_out_of_order:
            self.stats.count("webhooks_stale")
            self._deliver(configuration, _event(job_id, event_type, stale_since), signed=not fate.webhook_unsigned)

    def _deliver(self, configuration: dict, event: dict, *, signed: bool) -> None:
        body = json.dumps(event, separators=(",", ":"))
        if configuration.get("webhook_output_format", "string") == "string":
            body = json.dumps(body)
        raw = body.encode("utf-8")
        headers = {str(name): str(value) for name, value in (configuration.get("webhook_headers") or {}).items()}
        headers.update({
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Webhook-Event-ID": event["event_id"],
            "X-Webhook-Event-Type": event["event_type"],
        })
        secret = configuration.get("webhook_signing_secret") or self.settings.default_secret
        if secret and signed:
            headers["LC-Signature"] = "sha256=" + hmac.new(secret.encode("utf-8"), raw, hashlib.sha256).hexdigest()
        waits = (*self.settings.backoff_seconds, None)
        for wait in waits:
            self.stats.count("webhook_attempts")
            try:
                response = httpx.post(
                    configuration["webhook_url"], content=raw, headers=headers, timeout=self.settings.timeout_seconds
                )
                if response.is_success:
                    self.stats.count("webhooks_delivered")
                    return
            except httpx.HTTPError:
                pass
            if wait is None or self.stop.wait(wait):
                break
        self.stats.count("webhooks_failed")


def _event(job_id: str, event_type: str, timestamp: float) -> dict:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "timestamp": timestamp,
        "data": {"id": job_id, "job_id": job_id},
    }
