"""Run the OpenAI embeddings simulator: the ASGI app, a foreground server, a background one for tests, and its CLI."""

from __future__ import annotations

import argparse
import json
import logging
import socket
import threading
import time
from contextlib import contextmanager
from typing import Iterator, Sequence

import httpx
import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from ingest_pipeline.simulators.openai_embeddings import CONNECTION_KEY, ConnectionFate, EmbeddingsEndpoint, SimulatorConfig
from ingest_pipeline.simulators.openai_faults import FaultConfig
from ingest_pipeline.simulators.openai_protocol import ApiError

__all__ = ["FaultConfig", "SimulatorConfig", "add_arguments", "create_app", "main", "run", "running_simulator", "serve"]

DEFAULT_PORT = 8100
_DROPPED = "simulated dropped connection"


class SimulatorApp(FastAPI):
    """FastAPI plus the one thing it cannot do: hang up without answering."""

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await super().__call__(scope, receive, send)
        fate = scope[CONNECTION_KEY] = ConnectionFate()

        async def send_unless_dropped(message):
            if not fate.drop:
                await send(message)

        await super().__call__(scope, receive, send_unless_dropped)
        # uvicorn closes the socket, having written nothing, when an ASGI app returns anything but None
        # before starting a response: the client sees the peer disconnect (openai: APIConnectionError).
        return _DROPPED if fate.drop else None


class _QuietDrops(logging.Filter):
    """uvicorn logs the deliberate hang-up as an application error; it is the fault working, so hide it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.args != (_DROPPED,)


_QUIET_DROPS = _QuietDrops()


def create_app(config: SimulatorConfig | None = None) -> FastAPI:
    """The simulator as an ASGI app: /v1/embeddings, plus /_faults and /_stats for tests and benchmarks."""
    config = config or SimulatorConfig()
    app = SimulatorApp(title="OpenAI embeddings simulator", docs_url=None, redoc_url=None, openapi_url=None)
    embeddings = EmbeddingsEndpoint(config)
    # Adding the same filter object twice is a no-op, so every app can ask for it.
    logging.getLogger("uvicorn.error").addFilter(_QUIET_DROPS)
    app.add_api_route("/v1/embeddings", embeddings, methods=["POST"])

    @app.get("/_faults")
    async def get_faults() -> dict:
        return config.faults.to_dict()

    @app.post("/_faults")
    async def set_faults(request: Request) -> Response:
        try:
            changes = json.loads(await request.body() or b"{}")
            config.faults.update(changes)
        except ValueError as error:
            return JSONResponse(ApiError(400, f"Invalid JSON: {error}.").body(), status_code=400)
        except ApiError as error:
            return JSONResponse(error.body(), status_code=error.status)
        if "seed" in changes:
            embeddings.injector.reseed()
        return JSONResponse(config.faults.to_dict())

    @app.get("/_stats")
    async def get_stats() -> dict:
        return config.stats.snapshot()

    @app.post("/_stats/reset")
    async def reset_stats() -> dict:
        config.stats.reset()
        return config.stats.snapshot()

    return app


def serve(host: str = "127.0.0.1", port: int = DEFAULT_PORT, config: SimulatorConfig | None = None) -> None:
    """Run the simulator in the foreground until interrupted."""
    # h11 pinned: the dropped-connection fault relies on how uvicorn's h11 protocol treats the app's return.
    uvicorn.run(create_app(config), host=host, port=port, http="h11", lifespan="off")


@contextmanager
def running_simulator(config: SimulatorConfig | None = None, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve the simulator from a background thread on a free port; yields its base URL (ending in /v1)."""
    listener = socket.create_server((host, 0))
    port = listener.getsockname()[1]
    server_config = uvicorn.Config(
        create_app(config), http="h11", lifespan="off", loop="asyncio",
        # No log_config: leave the host process's logging alone; a short grace so a sleeping fault never holds exit.
        log_config=None, log_level="warning", timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(server_config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, name=f"openai-simulator-{port}", daemon=True)
    thread.start()
    try:
        _wait_until_answering(f"http://{host}:{port}", thread)
        yield f"http://{host}:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


def _wait_until_answering(root_url: str, thread: threading.Thread, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("The OpenAI simulator stopped while starting.")
        try:
            httpx.get(f"{root_url}/_stats", timeout=1.0).raise_for_status()
            return
        except httpx.HTTPError:
            time.sleep(0.01)
    raise RuntimeError(f"The OpenAI simulator did not answer at {root_url} within {timeout} s.")
