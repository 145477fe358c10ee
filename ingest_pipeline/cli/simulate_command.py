"""`ingest-pipeline simulate openai`: serve the OpenAI embeddings simulator for tests, benchmarks and demos."""

from __future__ import annotations

from ingest_pipeline.simulators import openai_api


def add_to(commands) -> None:
    simulate = commands.add_parser("simulate", help="Run a local simulator of an external API.")
    services = simulate.add_subparsers(dest="service", required=True)
    openai = services.add_parser("openai", help="POST /v1/embeddings as OpenAI serves it, with fault injection; "
                                                "GET /_stats, GET|POST /_faults.")
    openai_api.add_arguments(openai)
    openai.set_defaults(handler=openai_api.run)
