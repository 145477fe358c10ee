"""Without a token the API trusts whoever reaches loopback, so it refuses requests a web page could make (403).

A page on another site can post a form to 127.0.0.1 (its Origin names that site), or rebind its own
name to 127.0.0.1 and then read and delete as if same-origin (its Host header still names that site).
Browsers set both headers themselves; scripts cannot forge them.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ingest_pipeline.api.binding import is_loopback

_SHOWN = 100
_HOW = ("without INGEST_API_TOKEN the API only answers requests addressed to localhost, 127.0.0.1 or [::1], "
        "from no web page but one served there; set INGEST_API_TOKEN to use it otherwise")


def refusal(host: str | None, origin: str | None) -> str | None:
    """Why a request with these headers is refused, or None: a loopback Host, and no Origin or a loopback one."""
    if host is None or not is_loopback(_name_of(host)):
        return f"refused: the Host header {_shown(host)} is not a loopback name; {_HOW}"
    if origin is not None and not _loopback_origin(origin):
        return f"refused: the request comes from the web page origin {_shown(origin)}; {_HOW}"
    return None


def _name_of(host: str) -> str:
    """`host` without its port: `[::1]:8000` is `[::1]`, `localhost:8000` is `localhost`."""
    name, colon, port = host.rpartition(":")
    if not colon or not port.isdigit() or (name.startswith("[") != name.endswith("]")):
        return host
    return name


def _loopback_origin(origin: str) -> bool:
    # `null` (a sandboxed frame, a file: page) is no loopback page.
    try:
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and parts.hostname is not None and is_loopback(parts.hostname)
    except ValueError:
        return False


def _shown(value: str | None) -> str:
    return "(missing)" if value is None else repr(value[:_SHOWN])


class LoopbackOnly:
    """ASGI middleware answering 403 to what `refusal` refuses; `open_paths` have their own authentication."""

    def __init__(self, app: ASGIApp, open_paths: frozenset[str]):
        self.app = app
        self.open_paths = open_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in self.open_paths:
            headers = Headers(scope=scope)
            reason = refusal(headers.get("host"), headers.get("origin"))
            if reason is not None:
                await JSONResponse({"detail": reason}, status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)
