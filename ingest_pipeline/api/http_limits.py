"""How long a client may take over each part of a request, and how many connections the API holds at once.

Set by the INGEST_API_* settings (their defaults are in `settings.py`), enforced by `http_protocol.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest_pipeline.settings import (
    API_BODY_TIMEOUT,
    API_HEAD_TIMEOUT,
    API_KEEPALIVE_TIMEOUT,
    API_MAX_CONNECTIONS,
    Settings,
)

# The request line and headers together (h11's default is 16 KiB; a browser's cookies can pass that).
MAX_HEAD_BYTES = 64 * 1024


@dataclass(frozen=True)
class HttpLimits:
    """Timeouts in seconds. Reaching `max_connections`, a new connection is answered 503 and closed."""

    head_timeout: float = API_HEAD_TIMEOUT
    body_timeout: float = API_BODY_TIMEOUT
    keepalive_timeout: float = API_KEEPALIVE_TIMEOUT
    max_connections: int = API_MAX_CONNECTIONS

    @classmethod
    def of(cls, settings: Settings) -> "HttpLimits":
        return cls(settings.api_head_timeout, settings.api_body_timeout, settings.api_keepalive_timeout,
                   settings.api_max_connections)

    def __post_init__(self) -> None:
        for name in ("head_timeout", "body_timeout", "keepalive_timeout", "max_connections"):
            if getattr(self, name) <= 0:
                raise ValueError(f"the API's {name} must be positive, not {getattr(self, name)}")


DEFAULT_HTTP_LIMITS = HttpLimits()
