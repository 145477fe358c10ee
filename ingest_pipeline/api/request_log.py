"""One JSON log line per API request: method, path, status, duration, and the document or parse job it concerned."""

from __future__ import annotations

import logging
import time

from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ingest_pipeline.domain.ids import is_document_id
from ingest_pipeline.logs.format import structured_logger
from ingest_pipeline.logs.redaction import STANDARD_ATTRIBUTES

_log = structured_logger("api")
_FIELDS = "ingest_pipeline.log_fields"
# Load balancers poll /health every few seconds; a line each would drown the lines about documents.
_UNLOGGED = frozenset({"/health"})
_MAX_PATH = 300
# nginx's status for "the client closed the request": logged, never sent (nobody is left to send it to).
CLIENT_CLOSED = 499


def annotate(request: Request, **fields) -> None:
    """Add fields (document_id, parse_job_id, ...) to this request's log line."""
    reserved = set(fields) & STANDARD_ATTRIBUTES
    if reserved:
        raise ValueError(f"{', '.join(sorted(reserved))}: names every log record already has")
    request.scope.setdefault(_FIELDS, {}).update(fields)


class RequestLog:
    """ASGI middleware: writes the line once the response has started (or the app failed)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in _UNLOGGED:
            await self.app(scope, receive, send)
            return
        started, answer = time.perf_counter(), {"status": 500}
        # A dict of our own, so the fields survive even if a layer below copies the scope.
        fields = scope.setdefault(_FIELDS, {})

        async def remember_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, remember_status)
        except ClientDisconnect:
            # The client left while sending its body: its doing, not a server error, and no answer can reach it.
            answer["status"] = CLIENT_CLOSED
        finally:
            _write(scope, answer["status"], fields, time.perf_counter() - started)


def _write(scope: Scope, status: int, fields: dict, seconds: float) -> None:
    method, path = scope["method"], scope["path"][:_MAX_PATH]
    # Never the query string or headers: they may hold search text, tokens or signatures.
    line = {"component": "api", "method": method, "path": path, "status": status,
            "duration_ms": round(seconds * 1000, 1), "document_id": _document_id(scope), "parse_job_id": None,
            **fields}
    _log.log(logging.ERROR if status >= 500 else logging.INFO, f"{method} {path} {status}", extra=line)


def _document_id(scope: Scope) -> str | None:
    """The document a route's path names; only ids of the right shape, never arbitrary caller text."""
    candidate = (scope.get("path_params") or {}).get("document_id")
    return candidate if isinstance(candidate, str) and is_document_id(candidate) else None
