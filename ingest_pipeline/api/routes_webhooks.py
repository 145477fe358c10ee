"""LlamaParse's webhook deliveries (POST to `WEBHOOK_PATH`): verify the signature, record the event once, answer fast."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from ingest_pipeline.api.context import ApiContext, get_context
from ingest_pipeline.api.request_log import annotate
from ingest_pipeline.domain.providers import LLAMAPARSE
from ingest_pipeline.parse.webhooks import (
    SIGNATURE_HEADER,
    WEBHOOK_PATH,
    InvalidEvent,
    parse_event,
    signature_is_valid,
)
from ingest_pipeline.store import webhook_log

router = APIRouter(tags=["webhooks"])


class WebhookReceipt(BaseModel):
    event_id: str
    recorded: bool


@router.post(WEBHOOK_PATH, response_model=WebhookReceipt, status_code=status.HTTP_202_ACCEPTED,
             responses={200: {"model": WebhookReceipt, "description": "Already recorded (a duplicate delivery)."},
                        400: {"description": "Not a webhook event."},
                        401: {"description": "Unsigned, or signed with another secret."}})
async def llamaparse_webhook(request: Request, context: ApiContext = Depends(get_context)):
    """A LlamaParse job changed. Unknown jobs are recorded too and ignored later, never an error."""
    body = await request.body()
    if not signature_is_valid(context.app.settings.webhook_secret, body, request.headers.get(SIGNATURE_HEADER)):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing or invalid LC-Signature")
    try:
        event = parse_event(body)
    except InvalidEvent as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from error
    annotate(request, parse_job_id=event.job_id, event_id=event.event_id, event_type=event.event_type)
    with context.app.engine.begin() as conn:
        recorded = webhook_log.record(conn, LLAMAPARSE, event, body)
    if not recorded:
        return JSONResponse({"event_id": event.event_id, "recorded": False}, status_code=status.HTTP_200_OK)
    return WebhookReceipt(event_id=event.event_id, recorded=True)
