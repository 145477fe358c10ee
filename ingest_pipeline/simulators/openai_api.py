"""Run the OpenAI embeddings simulator: the ASGI app, a foreground server and a background one for tests."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Iterator

import uvicorn
from fastapi import FastAPI

from ingest_pipeline.simulators.background_server import serving_in_background
from ingest_pipeline.simulators.control_routes import add_control_routes, add_limit_routes
from ingest_pipeline.simulators.openai_embeddings import (
    CONNECTION_KEY,
    ConnectionFate,
    EmbeddingsEndpoint,
    SimulatorConfig,
)
from ingest_pipeline.simulators.openai_faults import FaultConfig

__all__ = ["FaultConfig", "SimulatorConfig", "create_app", "running_simulator", "serve"]

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
    """The simulator as an ASGI app: /v1/embeddings, plus /_faults, /_limits and /_stats for tests and benchmarks."""
    config = SimulatorConfig() if config is None else config
    app = SimulatorApp(title="OpenAI embeddings simulator", docs_url=None, redoc_url=None, openapi_url=None)
    embeddings = EmbeddingsEndpoint(config)
    app.add_api_route("/v1/embeddings", embeddings, methods=["POST"])
    # The test-facing side lives outside /v1, so no OpenAI client ever reaches it.
    add_control_routes(app, config.faults, config.stats, embeddings.injector.reseed)
    add_limit_routes(app, config)
    # Adding the same filter object twice is a no-op, so every app can ask for it.
    logging.getLogger("uvicorn.error").addFilter(_QUIET_DROPS)
    return app


def serve(host: str, port: int, config: SimulatorConfig | None = None) -> None:
    """Run the simulator in the foreground until interrupted."""
    # h11 pinned: the dropped-connection fault relies on how uvicorn's h11 protocol treats the app's return.
    uvicorn.run(create_app(config), host=host, port=port, http="h11", lifespan="off")


@contextmanager
def running_simulator(config: SimulatorConfig | None = None, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve the simulator from a background thread on a free port; yields its base URL (ending in /v1).

    Pass your own `config` to reach the live `config.faults`, `config.stats`, `config.rpm` and `config.tpm`.
    """
    with serving_in_background(create_app(config), "/_stats", host, name="openai-simulator") as root_url:
        yield f"{root_url}/v1"
