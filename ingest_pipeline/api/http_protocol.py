"""uvicorn's h11 protocol with the bounds uvicorn lacks: a deadline for a request's head and its body, and a connection cap.

uvicorn's own `timeout_keep_alive` only covers the wait between requests: once a byte arrives, a client
sending one byte a second could hold its connection for ever. Here each connection carries one timer,
for the phase it is in (waiting for the head, or for the body), and is closed when the timer runs out.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from ingest_pipeline.api.http_limits import DEFAULT_HTTP_LIMITS, HttpLimits
from ingest_pipeline.logs.format import structured_logger
from ingest_pipeline.settings import API_BODY_BYTES_PER_SECOND

_log = structured_logger("api")
_HEAD, _BODY = "head", "body"


def _raw_answer(status: str, text: str) -> bytes:
    body = text.encode("ascii")
    return (f"HTTP/1.1 {status}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {len(body)}\r\n"
            "connection: close\r\n\r\n").encode("ascii") + body


_BUSY = _raw_answer("503 Service Unavailable", "too many connections; try again later")
_HEAD_TIMEOUT = _raw_answer("408 Request Timeout", "the request head did not arrive in time")


class BoundedH11Protocol(H11Protocol):
    """One per connection; `limits` is set on the subclass `bounded_protocol` makes."""

    limits: ClassVar[HttpLimits] = DEFAULT_HTTP_LIMITS

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._refused = len(self.connections) >= self.limits.max_connections
        if self._refused:
            # Answered before the request: the client learns why, and holds no descriptor of ours.
            transport.write(_BUSY)
            transport.close()
            return
        self._timer: asyncio.TimerHandle | None = None
        self._phase: str | None = None
        self._started = self._received = 0.0
        super().connection_made(transport)
        self._follow(fresh=True)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._refused:
            return
        self._cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._received += len(data)
        super().data_received(data)
        self._follow(fresh=True)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # A pipelined request may have started without a byte arriving.
        self._follow(fresh=False)

    def _follow(self, fresh: bool) -> None:
        """Start the timer of the phase the client is in; waiting for a new request only once its bytes come."""
        state = self.conn.their_state
        if state is h11.IDLE:
            phase = _HEAD if fresh or self._phase == _HEAD else None
        else:
            phase = _BODY if state is h11.SEND_BODY else None
        if phase == self._phase or self.transport.is_closing():
            return
        self._cancel()
        self._phase, self._started, self._received = phase, self.loop.time(), 0.0
        if phase is not None:
            self._timer = self.loop.call_at(self._deadline(), self._expired)

    def _deadline(self) -> float:
        if self._phase == _HEAD:
            return self._started + self.limits.head_timeout
        return self._started + self.limits.body_timeout + self._received / API_BODY_BYTES_PER_SECOND

    def _expired(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        if self._phase == _BODY and self.flow.read_paused:
            # The application holds the body back (it has not read what came): the client is not slow.
            self._started, self._received = self.loop.time(), 0.0
        if self.loop.time() < self._deadline():
            self._timer = self.loop.call_at(self._deadline(), self._expired)
            return
        seconds = self.limits.head_timeout if self._phase == _HEAD else self.limits.body_timeout
        _log.info(f"closed a connection: the request {self._phase} was too slow", extra={
            "component": "api", "phase": self._phase, "timeout_seconds": seconds})
        if self._phase == _HEAD:
            self.transport.write(_HEAD_TIMEOUT)
        # For a body, the application sees the client disconnect (and logs it so).
        self.transport.close()

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def bounded_protocol(limits: HttpLimits) -> type[BoundedH11Protocol]:
    """The protocol class uvicorn instantiates per connection, carrying `limits`."""
    return type("BoundedH11Protocol", (BoundedH11Protocol,), {"limits": limits})
