"""What every route shares: the Application, the upload limit, the lazily opened Dagster instance, health results, and auth."""

from __future__ import annotations

import hmac
import threading
import time
from typing import TYPE_CHECKING

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ingest_pipeline.domain.checks import CheckResult
from ingest_pipeline.orchestration.daemon_health import open_heartbeat_instance
from ingest_pipeline.service.application import Application
from ingest_pipeline.service.health import provider_checks

if TYPE_CHECKING:
    from ingest_pipeline.orchestration.runs import DagsterInstance

_bearer = HTTPBearer(auto_error=False, description="The token set in INGEST_API_TOKEN.")
# Provider checks are network calls (one costs an embedding of one token): a polled /health reuses them.
PROVIDER_CHECK_SECONDS = 60.0
PROVIDER_TIMEOUT_SECONDS = 3.0


class ApiContext:
    def __init__(self, app: Application, api_token: str | None, max_upload_bytes: int,
                 instance: "DagsterInstance | None" = None):
        self.app = app
        self.api_token = api_token
        self.max_upload_bytes = max_upload_bytes
        self._instance = instance
        self._lock = threading.Lock()
        self._heartbeats: "DagsterInstance | None" = None
        self._providers: tuple[float, list[CheckResult]] | None = None
        self._last_done: dict[str, float] = {}

    def due(self, chore: str, every_seconds: float, now: float) -> bool:
        """True at most once per `every_seconds` for `chore` (the first call included): the caller does it now."""
        with self._lock:
            last = self._last_done.get(chore)
            if last is not None and now - last < every_seconds:
                return False
            self._last_done[chore] = now
            return True

    def dagster_instance(self) -> "DagsterInstance":
        """Opened on first use: only deletes need it, and opening it touches DAGSTER_HOME."""
        with self._lock:
            if self._instance is None:
                from ingest_pipeline.orchestration.runs import open_instance

                self._instance = open_instance(self.app.settings.dagster_home)
            return self._instance

    def heartbeat_instance(self) -> "DagsterInstance":
        """The instance whose daemon heartbeats /health reads; opened without touching DAGSTER_HOME."""
        with self._lock:
            if self._instance is not None:
                return self._instance
            if self._heartbeats is None:
                self._heartbeats = open_heartbeat_instance(self.app.settings.dagster_home)
            return self._heartbeats

    def provider_checks(self) -> list[CheckResult]:
        with self._lock:
            if self._providers and time.monotonic() - self._providers[0] < PROVIDER_CHECK_SECONDS:
                return self._providers[1]
        checks = provider_checks(self.app.settings, PROVIDER_TIMEOUT_SECONDS)
        with self._lock:
            self._providers = (time.monotonic(), checks)
        return checks


def get_context(request: Request) -> ApiContext:
    return request.app.state.context


def require_token(context: ApiContext = Depends(get_context),
                  credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> None:
    """Refuse the request unless it carries the configured bearer token (no token configured: open)."""
    if context.api_token is None:
        return
    offered = credentials.credentials if credentials is not None else ""
    # Constant time, on bytes: compare_digest refuses non-ASCII str. Starlette decodes headers as
    # latin-1, so encoding back gives the bytes the client sent (a UTF-8 token matches its bytes).
    if not hmac.compare_digest(offered.encode("latin-1"), context.api_token.encode("utf-8")):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "a valid bearer token is required",
                            headers={"WWW-Authenticate": "Bearer"})
