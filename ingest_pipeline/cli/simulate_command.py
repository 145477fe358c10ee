"""`ingest-pipeline simulate openai|llamaparse`: serve a simulator of an external API for tests and demos.

The flags are defined here and the servers imported only when one runs: every other command then starts
without FastAPI and uvicorn.
"""

from __future__ import annotations

import argparse
import sys

from ingest_pipeline.domain.providers import LLAMAPARSE, OPENAI
from ingest_pipeline.simulators.llamaparse_faults import JOB_PROBABILITIES, REQUEST_PROBABILITIES, ParseFaultConfig
from ingest_pipeline.simulators.openai_faults import FaultConfig
from ingest_pipeline.simulators.openai_protocol import ApiError

OPENAI_PORT = 8100
LLAMAPARSE_PORT = 8200

# (flag, FaultConfig field, type, help): the OpenAI fault flags map one to one onto FaultConfig.
_OPENAI_FAULT_FLAGS = (
    ("--fault-429", "probability_429", "probability", "share of requests answered 429 with retry-after headers"),
    ("--fault-500", "probability_500", "probability", "share of requests answered 500 server_error"),
    ("--fault-slow", "probability_slow", "probability", "share of requests answered only after --slow-seconds"),
    ("--fault-malformed", "probability_malformed", "probability", "share of 200s whose JSON body is cut in half"),
    ("--fault-drop", "probability_drop", "probability", "share of connections closed without any answer"),
    ("--slow-seconds", "slow_seconds", float, "delay of a slow answer"),
    ("--latency-seconds", "latency_seconds", float, "delay added to every answer, whatever the faults"),
    ("--retry-after-seconds", "retry_after_seconds", float, "wait advertised by injected 429s"),
    ("--reject-marker", "reject_marker", str, "answer 400 to any request with an input containing this text"),
    ("--fail-first-n", "fail_first_n", int, "fail the first N requests with --fail-status"),
    ("--fail-status", "fail_status", int, "status of the --fail-first-n failures"),
    ("--seed", "seed", int, "seed of the fault draws, to replay the same faults (default: random)"),
)

# (flag, ParseFaultConfig field, help): every LlamaParse fault setting but the seed and the two delays is a probability.
_LLAMAPARSE_FAULT_FLAGS = tuple(
    (f"--fault-{name.removeprefix('probability_').replace('_', '-')}", name, f"share of {kind} with this fault")
    for names, kind in ((REQUEST_PROBABILITIES, "API requests"), (JOB_PROBABILITIES, "jobs"))
    for name in names
)


def add_to(commands) -> None:
    simulate = commands.add_parser("simulate", help="Run a local simulator of an external API.")
    services = simulate.add_subparsers(dest="service", required=True)
    openai = services.add_parser(OPENAI, help="POST /v1/embeddings as OpenAI serves it, with fault injection; "
                                                "GET /_stats, GET|POST /_faults, GET|POST /_limits.")
    _add_openai_arguments(openai)
    openai.set_defaults(handler=run_openai)
    llamaparse = services.add_parser(LLAMAPARSE, help="The LlamaParse v2 parse API (upload, status, results) "
                                                        "with signed webhooks and fault injection.")
    _add_llamaparse_arguments(llamaparse)
    llamaparse.set_defaults(handler=run_llamaparse)


def _add_server_arguments(parser: argparse.ArgumentParser, port: int) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=port, help="port to listen on (default: %(default)s)")
    parser.add_argument("--api-key", help="accept only this bearer key, others get 401 (default: any key)")


def _add_openai_arguments(parser: argparse.ArgumentParser) -> None:
    """Each probability is drawn independently per request."""
    _add_server_arguments(parser, OPENAI_PORT)
    bucket = "a continuous bucket refilled over 60 s (default: unlimited)"
    parser.add_argument("--rpm", type=_positive_integer, help=f"requests per minute: {bucket}")
    parser.add_argument("--tpm", type=_positive_integer, help=f"tokens per minute: {bucket}")
    defaults = FaultConfig()
    for flag, field, kind, meaning in _OPENAI_FAULT_FLAGS:
        default = getattr(defaults, field)
        parser.add_argument(
            flag, dest=field, type=_probability if kind == "probability" else kind, default=default,
            metavar="P" if kind == "probability" else None,
            help=meaning + (f" (default: {default})" if default is not None else ""),
        )


def _add_llamaparse_arguments(parser: argparse.ArgumentParser) -> None:
    _add_server_arguments(parser, LLAMAPARSE_PORT)
    parser.add_argument("--webhook-secret", help="sign webhooks with this secret when a job sets none of its own")
    parser.add_argument("--job-delay", type=float, default=0.3, help="seconds a job spends PENDING, then RUNNING (default: %(default)s)")
    parser.add_argument("--job-seconds", type=_seconds_or_range, metavar="S|LOW-HIGH",
                        help="a job's whole duration instead: fixed (20) or drawn uniformly from a range (5-30), "
                             "reproducible with --seed")
    parser.add_argument("--retry-after-seconds", type=float, default=1.0, help="wait advertised by injected 429s")
    parser.add_argument("--webhook-delay-seconds", type=float, default=1.0, help="extra wait of a delayed webhook")
    parser.add_argument("--seed", type=int, help="seed of the fault draws, to replay the same faults (default: random)")
    for flag, name, meaning in _LLAMAPARSE_FAULT_FLAGS:
        parser.add_argument(flag, dest=name, type=_probability, default=0.0, metavar="P", help=meaning)


def run_openai(args: argparse.Namespace) -> int:
    """Serve with the parsed flags until interrupted; faults and limits stay adjustable (POST /_faults, /_limits)."""
    from ingest_pipeline.simulators.openai_api import SimulatorConfig, serve

    faults = FaultConfig(**{field: getattr(args, field) for _, field, _, _ in _OPENAI_FAULT_FLAGS})
    if not _valid(OPENAI, faults):
        return 2
    serve(args.host, args.port, SimulatorConfig(api_key=args.api_key, rpm=args.rpm, tpm=args.tpm, faults=faults))
    return 0


def run_llamaparse(args: argparse.Namespace) -> int:
    """Serve with the parsed flags until interrupted; the faults stay adjustable through POST /_faults."""
    from ingest_pipeline.simulators.llamaparse_api import ParseSimulatorConfig, serve

    faults = ParseFaultConfig(
        retry_after_seconds=args.retry_after_seconds, webhook_delay_seconds=args.webhook_delay_seconds, seed=args.seed,
        **{name: getattr(args, name) for _, name, _ in _LLAMAPARSE_FAULT_FLAGS},
    )
    if not _valid(LLAMAPARSE, faults):
        return 2
    serve(args.host, args.port, ParseSimulatorConfig(
        api_key=args.api_key, webhook_secret=args.webhook_secret, job_delay_seconds=args.job_delay,
        job_seconds=args.job_seconds, faults=faults,
    ))
    return 0


def _valid(service: str, faults: FaultConfig | ParseFaultConfig) -> bool:
    try:
        faults.validate()
    except ApiError as error:
        print(f"{service} simulator: {error.message}", file=sys.stderr)
        return False
    return True


def _probability(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a probability between 0 and 1")
    return value


def _seconds_or_range(text: str) -> tuple[float, float]:
    """`20` -> (20, 20); `5-30` -> (5, 30)."""
    low, dash, high = text.partition("-")
    try:
        bounds = (float(low), float(high if dash else low))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text} is neither seconds (20) nor a range of seconds (5-30)") from None
    if not 0 <= bounds[0] <= bounds[1]:
        raise argparse.ArgumentTypeError(f"{text}: durations must be >= 0, the lower bound first")
    return bounds


def _positive_integer(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer (omit the flag for no limit)")
    return value
