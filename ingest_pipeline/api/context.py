"""What every route shares: the Application, the upload limit, the lazily opened Dagster instance, and auth."""

from __future__ import annotations

import hmac
import threading
from typing import TYPE_CHECKING

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ingest_pipeline.application import Application

if TYPE_CHECKING:
    import dagster as dg

_bearer = HTTPBearer(auto_error=False, description="The token set in INGEST_API_TOKEN.")


class ApiContext:
    def __init__(self, app: Application, api_token: str | None, max_upload_bytes: int,
                 instance: "dg.DagsterInstance | None" = None):
        self.app = app
        self.api_token = api_token
        self.max_upload_bytes = max_upload_bytes
        self._instance = instance
        self._lock = threading.Lock()

    def dagster_instance(self) -> "dg.DagsterInstance":
        """Opened on first use: only deletes need it, and opening it touches DAGSTER_HOME."""
        with self._lock:
            if self._instance is None:
                from ingest_pipeline.runs import open_instance

                self._instance = open_instance(self.app.settings.dagster_home)
            return self._instance


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
