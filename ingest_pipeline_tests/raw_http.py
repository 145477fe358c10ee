"""Test helpers speaking HTTP over plain sockets, as a hostile client would: the real API under the bounds it serves with."""

from __future__ import annotations

import socket
from contextlib import contextmanager
from typing import Iterator
from urllib.parse import urlsplit

from ingest_pipeline.api.app import create_app
from ingest_pipeline.api.http_limits import DEFAULT_HTTP_LIMITS, HttpLimits
from ingest_pipeline.api.server import bounded_options
from ingest_pipeline.simulators.background_server import serving_in_background

# Long enough that a healthy server has always answered; a test only waits this long when it fails.
PATIENCE_SECONDS = 10.0


@contextmanager
def bounded_api(app, instance, limits: HttpLimits = DEFAULT_HTTP_LIMITS, **create) -> Iterator[str]:
    """The API over `app` on a loopback port, served as `ingest-pipeline api` serves it; yields its root URL."""
    asgi = create_app(app, instance=instance, **create)
    with serving_in_background(asgi, "/health", name="bounded-api", options=bounded_options(limits)) as url:
        yield url


def open_socket(url: str) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=PATIENCE_SECONDS)
    return sock


def head(method: str, url: str, path: str, headers: dict[str, str] | None = None) -> bytes:
    """A request line and headers, addressed to the server's own host:port unless `headers` says otherwise."""
    lines = {"Host": urlsplit(url).netloc, **(headers or {})}
    return (f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in lines.items()) + "\r\n").encode()


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a reset after an answer ends it too)."""
    received = bytearray()
    while True:
        try:
            block = sock.recv(65536)
        except ConnectionResetError:
            return bytes(received)
        if not block:
            return bytes(received)
        received += block


def status_of(answer: bytes) -> int | None:
    """The status code of the first response in `answer`, None when nothing came."""
    if not answer.startswith(b"HTTP/1.1 "):
        return None
    return int(answer.split(b" ", 2)[1])


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"
