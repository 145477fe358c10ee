"""`ingest-pipeline simulate openai`: serve the OpenAI embeddings simulator for tests, benchmarks and demos."""

from __future__ import annotations

_FAULTS = (
    ("--fault-429", "probability_429", "share of requests answered 429 with retry-after"),
    ("--fault-500", "probability_500", "share of requests answered 500"),
    ("--fault-slow", "probability_slow", "share of requests delayed by --slow-seconds"),
    ("--fault-malformed", "probability_malformed", "share of 200s with a truncated JSON body"),
    ("--fault-drop", "probability_drop", "share of connections closed without an answer"),
)


def add_to(commands) -> None:
    simulate = commands.add_parser("simulate", help="Run a local simulator of an external API.")
    services = simulate.add_subparsers(dest="service", required=True)
    openai = services.add_parser("openai", help="POST /v1/embeddings as OpenAI serves it, with fault injection; "
                                                "GET /_stats, GET|POST /_faults.")
    openai.add_argument("--host", default="127.0.0.1")
    openai.add_argument("--port", type=int, default=8100)
    openai.add_argument("--api-key", default=None, help="Accept only this bearer key (default: any).")
    openai.add_argument("--rpm", type=int, default=None, help="Enforced requests per minute (real 429s).")
    openai.add_argument("--tpm", type=int, default=None, help="Enforced tokens per minute (real 429s).")
    for flag, _, meaning in _FAULTS:
        openai.add_argument(flag, type=float, default=0.0, help=f"{meaning} (0 to 1)")
    openai.add_argument("--slow-seconds", type=float, default=2.0)
    openai.add_argument("--retry-after-seconds", type=float, default=1.0)
    openai.add_argument("--reject-marker", default=None, help="Answer 400 for any input containing this text.")
    openai.add_argument("--seed", type=int, default=None, help="Make fault draws reproducible.")
    openai.set_defaults(handler=serve_openai)


def serve_openai(args) -> int:
    from ingest_pipeline.simulators.openai_api import serve
    from ingest_pipeline.simulators.openai_embeddings import SimulatorConfig
    from ingest_pipeline.simulators.openai_faults import FaultConfig

    faults = FaultConfig(slow_seconds=args.slow_seconds, retry_after_seconds=args.retry_after_seconds,
                         reject_marker=args.reject_marker, seed=args.seed,
                         **{field: getattr(args, flag[2:].replace("-", "_")) for flag, field, _ in _FAULTS})
    faults.validate()
    print(f"OpenAI simulator on http://{args.host}:{args.port}/v1 (set OPENAI_BASE_URL to it)", flush=True)
    serve(args.host, args.port, SimulatorConfig(api_key=args.api_key, rpm=args.rpm, tpm=args.tpm, faults=faults))
    return 0
