"""Assembling the ingest HTTP API: its routers, their shared context, and bearer-token auth where configured."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Depends, FastAPI

from ingest_pipeline.api import routes_documents, routes_health, routes_search, routes_uploads, routes_webhooks
from ingest_pipeline.api.browser_guard import LoopbackOnly
from ingest_pipeline.api.context import ApiContext, require_token
from ingest_pipeline.api.request_log import RequestLog
from ingest_pipeline.api.schemas import Problem
from ingest_pipeline.logs.redaction import register_settings_secrets
from ingest_pipeline.parse.extraction import ExtractionLimits
from ingest_pipeline.parse.webhooks import WEBHOOK_PATH
from ingest_pipeline.service.application import Application

if TYPE_CHECKING:
    from ingest_pipeline.orchestration.runs import DagsterInstance

DEFAULT_MAX_UPLOAD_BYTES = ExtractionLimits().max_file_bytes


def create_app(app: Application, api_token: str | None = None,
               max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
               instance: "DagsterInstance | None" = None) -> FastAPI:
    """The API over `app`. With `api_token`, every route but /health and the docs needs it as a bearer token;
    without, only requests addressed to loopback and from no other site's web page are answered.

    `instance` is the Dagster instance whose `documents` partitions deletes remove; without one,
    the instance in `app.settings.dagster_home` is opened on the first delete.
    """
    if max_upload_bytes < 1:
        raise ValueError("max_upload_bytes must be at least 1")
    api = FastAPI(title="ingest_pipeline", version="1",
                  description="Upload documents, follow them through the pipeline, and search their chunks.")
    # An empty token (an unset environment variable) means no token, never "the empty token".
    api.state.context = ApiContext(app, api_token or None, max_upload_bytes, instance)
    guarded = {"dependencies": [Depends(require_token)],
               "responses": {401: {"model": Problem, "description": "A valid bearer token is required."}}
               } if api_token else {}
    for router in (routes_uploads.router, routes_documents.router, routes_search.search_router):
        api.include_router(router, **guarded)
    api.include_router(routes_health.router)
    # Signed by LlamaCloud with INGEST_WEBHOOK_SECRET instead of the bearer token.
    api.include_router(routes_webhooks.router)
    if not api_token:
        # No token: only loopback is trusted, and a web page must not borrow it (the webhook is signed instead).
        api.add_middleware(LoopbackOnly, open_paths=frozenset({WEBHOOK_PATH}))
    # Added last, so outermost: refused requests get their log line too.
    api.add_middleware(RequestLog)
    # Secrets passed in code (not through the environment) are redacted from log lines too.
    register_settings_secrets(app.settings, api_token)
    return api
