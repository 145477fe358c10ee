"""`ingest-pipeline simulate openai|llamaparse`: serve a simulator of an external API for tests and demos."""

from __future__ import annotations

from ingest_pipeline.simulators import llamaparse_api, openai_api


def add_to(commands) -> None:
    simulate = commands.add_parser("simulate", help="Run a local simulator of an external API.")
    services = simulate.add_subparsers(dest="service", required=True)
    openai = services.add_parser("openai", help="POST /v1/embeddings as OpenAI serves it, with fault injection; "
                                                "GET /_stats, GET|POST /_faults.")
    openai_api.add_arguments(openai)
    openai.set_defaults(handler=openai_api.run)
    llamaparse = services.add_parser("llamaparse", help="The LlamaParse v2 parse API (upload, status, results) "
                                                        "with signed webhooks and fault injection.")
    llamaparse_api.add_arguments(llamaparse)
    llamaparse.set_defaults(handler=llamaparse_api.run)
