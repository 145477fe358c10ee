"""Parse job statuses, as the LlamaParse v2 API spells them, and what each webhook event says of a job."""

from __future__ import annotations

from dataclasses import dataclass

PENDING, RUNNING, COMPLETED, FAILED, CANCELLED = "PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED"
TERMINAL = (COMPLETED, FAILED, CANCELLED)
# Ours, not the API's: a job that stayed unfinished too long and was replaced by a new submission,
# and a job whose result the service no longer has.
ABANDONED, EXPIRED = "ABANDONED", "EXPIRED"
# Jobs whose result can never serve a document.
UNUSABLE = (FAILED, CANCELLED, ABANDONED, EXPIRED)

# A partial success is a COMPLETED job whose failed pages are marked in its result.
_EVENT_STATUS = {
    "parse.success": COMPLETED,
    "parse.partial_success": COMPLETED,
    "parse.error": FAILED,
    "parse.cancelled": CANCELLED,
}
PARSE_EVENTS = tuple(_EVENT_STATUS)


@dataclass(frozen=True)
class WebhookEvent:
    """One verified webhook delivery: which job it is about and what it says happened."""

    event_id: str
    event_type: str
    job_id: str
    timestamp: float | None


def status_for_event(event_type: str) -> str | None:
    """The terminal status an event announces; None for events that announce no end."""
    return _EVENT_STATUS.get(event_type)
