"""Run the OpenAI embeddings simulator: the ASGI app, a foreground server, a background one for tests, and its CLI."""

from __future__ import annotations

import argparse
import logging
import sys
from contextlib import contextmanager
from typing import Iterator, Sequence

import uvicorn
from fastapi import FastAPI

from ingest_pipeline.background_server import serving_in_background
from ingest_pipeline.simulators.control_routes import add_control_routes
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
    config = SimulatorConfig() if config is None else config
    app = SimulatorApp(title="OpenAI embeddings simulator", docs_url=None, redoc_url=None, openapi_url=None)
    embeddings = EmbeddingsEndpoint(config)
    app.add_api_route("/v1/embeddings", embeddings, methods=["POST"])
    # The test-facing side lives outside /v1, so no OpenAI client ever reaches it.
    add_control_routes(app, config.faults, config.stats, embeddings.injector.reseed)
    # Adding the same filter object twice is a no-op, so every app can ask for it.
    logging.getLogger("uvicorn.error").addFilter(_QUIET_DROPS)
    return app


def serve(host: str = "127.0.0.1", port: int = DEFAULT_PORT, config: SimulatorConfig | None = None) -> None:
    """Run the simulator in the foreground until interrupted."""
    # h11 pinned: the dropped-connection fault relies on how uvicorn's h11 protocol treats the app's return.
    uvicorn.run(create_app(config), host=host, port=port, http="h11", lifespan="off")


@contextmanager
def running_simulator(config: SimulatorConfig | None = None, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve the simulator from a background thread on a free port; yields its base URL (ending in /v1).

    Pass your own `config` to reach the live `config.faults` and `config.stats` from the test.
    """
    with serving_in_background(create_app(config), "/_stats", host, name="openai-simulator") as root_url:
        yield f"{root_url}/v1"


# (flag, FaultConfig field, type, help): the fault flags map one to one onto FaultConfig.
_FAULT_FLAGS = (
    ("--fault-429", "probability_429", "probability", "share of requests answered 429 with retry-after headers"),
    ("--fault-500", "probability_500", "probability", "share of requests answered 500 server_error"),
    ("--fault-slow", "probability_slow", "probability", "share of requests answered only after --slow-seconds"),
    ("--fault-malformed", "probability_malformed", "probability", "share of 200s whose JSON body is cut in half"),
    ("--fault-drop", "probability_drop", "probability", "share of connections closed without any answer"),
    ("--slow-seconds", "slow_seconds", float, "delay of a slow answer"),
    ("--retry-after-seconds", "retry_after_seconds", float, "wait advertised by injected 429s"),
    ("--reject-marker", "reject_marker", str, "answer 400 to any request with an input containing this text"),
    ("--fail-first-n", "fail_first_n", int, "fail the first N requests with --fail-status"),
    ("--fail-status", "fail_status", int, "status of the --fail-first-n failures"),
    ("--seed", "seed", int, "seed of the fault draws, to replay the same faults (default: random)"),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of `ingest-pipeline simulate openai`; each probability is drawn independently per request."""
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port to listen on (default: %(default)s)")
    parser.add_argument("--api-key", help="accept only this bearer key, others get 401 (default: any key)")
    parser.add_argument("--rpm", type=int, help="requests per minute over a sliding 60 s window (default: unlimited)")
    parser.add_argument("--tpm", type=int, help="tokens per minute over a sliding 60 s window (default: unlimited)")
    defaults = FaultConfig()
    for flag, field, kind, meaning in _FAULT_FLAGS:
        default = getattr(defaults, field)
        parser.add_argument(
            flag, dest=field, type=_probability if kind == "probability" else kind, default=default,
            metavar="P" if kind == "probability" else None,
            help=meaning + (f" (default: {default})" if default is not None else ""),
        )


def run(args: argparse.Namespace) -> int:
    """Serve with the parsed flags until interrupted; the fault settings stay adjustable through POST /_faults."""
    faults = FaultConfig(**{field: getattr(args, field) for _, field, _, _ in _FAULT_FLAGS})
    try:
        faults.validate()
    except ApiError as error:
        print(f"openai simulator: {error.message}", file=sys.stderr)
        return 2
    serve(args.host, args.port, SimulatorConfig(api_key=args.api_key, rpm=args.rpm, tpm=args.tpm, faults=faults))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="openai-simulator", description="Simulate the OpenAI embeddings API locally.")
    add_arguments(parser)
    return run(parser.parse_args(argv))


def _probability(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a probability between 0 and 1")
    return value


if __name__ == "__main__":
    raise SystemExit(main())
