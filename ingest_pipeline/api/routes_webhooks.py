"""LlamaParse's webhook deliveries (POST to `WEBHOOK_PATH`): a bounded read, the signature, the event recorded once."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from ingest_pipeline.api.context import ApiContext, get_context
from ingest_pipeline.api.request_log import annotate
from ingest_pipeline.domain.parse_job_status import WebhookEvent
from ingest_pipeline.domain.providers import LLAMAPARSE
from ingest_pipeline.parse.webhooks import (
    MAX_WEBHOOK_BYTES,
    SIGNATURE_HEADER,
    WEBHOOK_PATH,
    InvalidEvent,
    parse_event,
    signature_is_valid,
)
from ingest_pipeline.store import webhook_log

# Old events are deleted by the route that adds new ones, at most this often: one DELETE per interval.
PRUNE_EVERY_SECONDS = 600.0
_TOO_LARGE = f"a webhook event is at most {MAX_WEBHOOK_BYTES} bytes"

router = APIRouter(tags=["webhooks"])


class WebhookReceipt(BaseModel):
    event_id: str
    recorded: bool


@router.post(WEBHOOK_PATH, response_model=WebhookReceipt, status_code=status.HTTP_202_ACCEPTED,
             responses={200: {"model": WebhookReceipt, "description": "Already recorded (a duplicate delivery)."},
                        400: {"description": "Signed, but not a webhook event we can read."},
                        401: {"description": "Unsigned, or signed with another secret."},
                        413: {"description": f"Larger than {MAX_WEBHOOK_BYTES} bytes."}})
async def llamaparse_webhook(request: Request, context: ApiContext = Depends(get_context)):
    """A LlamaParse job changed. Unknown jobs are recorded too and ignored later, never an error."""
    body = await _bounded_body(request)
    if not signature_is_valid(context.app.settings.webhook_secret, body, request.headers.get(SIGNATURE_HEADER)):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing or invalid LC-Signature")
    try:
        event = parse_event(body)
    except InvalidEvent as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"not a webhook event: {error}") from None
    annotate(request, parse_job_id=event.job_id, event_id=event.event_id, event_type=event.event_type)
    recorded = await run_in_threadpool(_record, context, event, body)
    if not recorded:
        return JSONResponse({"event_id": event.event_id, "recorded": False}, status_code=status.HTTP_200_OK)
    return WebhookReceipt(event_id=event.event_id, recorded=True)


async def _bounded_body(request: Request) -> bytes:
    """The body, refused (413, connection closed) from its Content-Length or the moment it passes the cap."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_WEBHOOK_BYTES:
        raise _too_large()
    body = bytearray()
    async for block in request.stream():
        body += block
        if len(body) > MAX_WEBHOOK_BYTES:
            raise _too_large()
    return bytes(body)


def _too_large() -> HTTPException:
    # Closing stops the sender at once: the rest of its body is never read.
    return HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, _TOO_LARGE, headers={"Connection": "close"})


def _record(context: ApiContext, event: WebhookEvent, body: bytes) -> bool:
    with context.app.engine.begin() as conn:
        recorded = webhook_log.record(conn, LLAMAPARSE, event, body)
        if context.due("prune webhook events", PRUNE_EVERY_SECONDS, time.monotonic()):
            webhook_log.prune(conn, context.app.settings.webhook_retention_days)
    return recorded
