"""Entry point of `ingest-pipeline`: parses the command line and dispatches to a subcommand."""

from __future__ import annotations

import argparse
import gc
import sys
import warnings

from ingest_pipeline.cli import (
    doctor_command,
    embeddings_command,
    index_command,
    ingest_command,
    query_commands,
    service_commands,
    simulate_command,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ingest-pipeline", description="Documents in, searchable pgvector embeddings out.")
    commands = parser.add_subparsers(dest="command", required=True)
    ingest_command.add_to(commands)
    query_commands.add_to(commands)
    embeddings_command.add_to(commands)
    index_command.add_to(commands)
    service_commands.add_to(commands)
    simulate_command.add_to(commands)
    doctor_command.add_to(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    # Library notices (Dagster beta parameters, the embedded server's runtime dir) are not the user's concern here.
    warnings.filterwarnings("ignore", message=".*currently in beta.*")
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    args = build_parser().parse_args(argv)
    return args.handler(args)


def console() -> int:
    """`ingest-pipeline` as its own process: `main`, then a quick exit."""
    code = main()
    # At exit, Python runs its cycle collector over every object still alive: after an ingest, with
    # Dagster loaded, that is nearly 300,000 objects and most of a second. Frozen objects are
    # skipped; nothing needs collecting by then, and exit handlers, threads and streams finish as usual.
    gc.freeze()
    return code


if __name__ == "__main__":
    sys.exit(console())
