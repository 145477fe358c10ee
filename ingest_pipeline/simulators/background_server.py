"""Serving an ASGI app from a background thread on a free loopback port: simulators, and the API in tests and soaks."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager
from typing import Iterator

import httpx
import uvicorn


@contextmanager
def serving_in_background(asgi_app, ready_path: str, host: str = "127.0.0.1", name: str = "server",
                          on_exit=None, options: dict | None = None) -> Iterator[str]:
    """Yield the root URL once `ready_path` answers; stop the server (after `on_exit`) on leaving.

    `options` are more uvicorn settings, or other values for these (the API's `bounded_options`)."""
    listener = _listening_socket(host)
    root_url = f"http://{f'[{host}]' if ':' in host else host}:{listener.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(asgi_app, **{
        "http": "h11", "lifespan": "off", "loop": "asyncio",
        # No log_config: leave the host process's logging alone; a short grace so a sleeping request never holds exit.
        "log_config": None, "log_level": "warning", "timeout_graceful_shutdown": 1, **(options or {}),
    }))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, name=f"{name}-{root_url}", daemon=True)
    thread.start()
    try:
        _wait_until_answering(root_url + ready_path, thread)
        yield root_url
    finally:
        if on_exit is not None:
            on_exit()
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


def _listening_socket(host: str) -> socket.socket:
    """Bound to a free port before the server starts, so the port is known without racing anyone for it."""
    # proto must say TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only then, and without
    # it every keep-alive answer waits ~40 ms for a delayed ACK (Nagle).
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, 0))
    listener.listen(128)
    return listener


def _wait_until_answering(url: str, thread: threading.Thread, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError(f"The server for {url} stopped while starting.")
        try:
            httpx.get(url, timeout=1.0).raise_for_status()
            return
        except httpx.HTTPError:
            time.sleep(0.01)
    raise RuntimeError(f"{url} did not answer within {timeout} s.")
