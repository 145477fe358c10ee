"""`ingest-pipeline ingest PATH...`: register files, then process them through Dagster in few runs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

from sqlalchemy import Engine

from ingest_pipeline.cli.dagster_set_up import DagsterSetUp
from ingest_pipeline.cli.index_command import keep_index_up
from ingest_pipeline.cli.output import DOCUMENT_FIELDS, document_row, print_json_lines, print_table
from ingest_pipeline.cli.progress import ProgressReporter
from ingest_pipeline.cli.thread_map import map_in_threads
from ingest_pipeline.domain.ids import Identity
from ingest_pipeline.domain.statuses import SETTLED, DocumentStatus
from ingest_pipeline.intake.admit import IntakeRefused, admit, could_not_read
from ingest_pipeline.service.application import Application
from ingest_pipeline.store.content import ContentStore
from ingest_pipeline.store.documents import Document

_TABLE_COLUMNS = ("id", "status", "chunks", "embeddings", "path", "reason")
FILES_AT_ONCE = 2


def add_to(commands) -> None:
    parser = commands.add_parser("ingest", help="Ingest files and folders (recursively) into the index.")
    parser.add_argument("paths", nargs="+", type=Path, help="Files or folders to ingest.")
    parser.add_argument("--json", action="store_true", help="Print one JSON object per document instead of a table.")
    parser.set_defaults(handler=run)
    register = commands.add_parser(
        "register", help="Register files and add their partitions without running anything (for the Dagster UI or "
                     "CLI); prints each document's partition key.")
    register.add_argument("paths", nargs="+", type=Path, help="Files or folders to register.")
    register.set_defaults(handler=register_only)


def run(args) -> int:
    app = Application.from_env()
    dagster = DagsterSetUp(app)
    ids, rows = register_paths(app, args.paths, on_work=dagster.start)
    process_documents(app, ids, show_progress=not args.json, dagster=dagster)
    rows = [document_row(doc, n) for doc, n in app.documents(ids)] + rows
    if args.json:
        print_json_lines([{k: row[k] for k in DOCUMENT_FIELDS} for row in rows])
    else:
        print_table(rows, _TABLE_COLUMNS)
        _print_totals(rows)
    return 1 if any(row["status"] == DocumentStatus.FAILED for row in rows) else 0


def register_only(args) -> int:
    """Prints one partition key per line, so scripts can pass them to `dagster asset materialize --partition`."""
    from ingest_pipeline.orchestration.partitions import partition_keys
    from ingest_pipeline.orchestration.runs import add_partitions, open_instance

    app = Application.from_env()
    ids, rows = register_paths(app, args.paths)
    keys = partition_keys(app.engine, ids)
    add_partitions(open_instance(app.settings.dagster_home), keys)
    for key in keys:
        print(key)
    for row in rows:
        print(f"{row['path']}: {row['reason']}", file=sys.stderr)
    return 1 if rows else 0


def register_paths(app: Application, paths: list[Path], on_work: Callable[[], None] | None = None,
                   ) -> tuple[list[str], list[dict]]:
    """Store and register every file; returns the document ids and rows for files that could not be read.

    `on_work` is called (from a worker thread) as soon as a registered document turns out to owe work.
    """
    files, rows = collect_files(paths)
    ids = []
    engine, store, limit = app.engine, app.store, app.settings.max_file_bytes  # built once, before the threads

    def register(path: Path) -> str | IntakeRefused:
        registered = _register(engine, store, limit, path)
        if on_work is not None and isinstance(registered, Document) and registered.status not in SETTLED:
            on_work()
        return registered.id if isinstance(registered, Document) else registered

    # Storing a file is mostly hashing and disk and database waits: two at a time, in their order.
    registrations = map_in_threads(register, files, FILES_AT_ONCE)
    for path, registered in zip(files, registrations):
        if isinstance(registered, str):
            ids.append(registered)
        else:
            rows.append(_intake_failure(path, registered.reason))
    return list(dict.fromkeys(ids)), rows


def _register(engine: Engine, store: ContentStore, max_bytes: int, path: Path) -> Document | IntakeRefused:
    """The file's document, or why it cannot be registered (a refused file is reported, never stored)."""
    try:
        return admit(engine, store, path, path.name, max_bytes=max_bytes, identity=Identity.of_local_path(str(path)),
                     source=str(path)).document
    except IntakeRefused as refused:
        return refused
    except OSError as error:  # the user's own file: its row says why, and the other files go on
        return IntakeRefused(str(path), could_not_read(error))


def collect_files(paths: list[Path]) -> tuple[list[Path], list[dict]]:
    """Every regular file under the given paths (hidden ones skipped), plus rows for missing paths."""
    files, missing = [], []
    for given in paths:
        path = given.expanduser().resolve()
        if path.is_dir():
            files.extend(p for p in sorted(path.rglob("*"))
                         if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts))
        elif path.is_file():
            files.append(path)
        else:
            missing.append(_intake_failure(path, "no such file or folder"))
    return list(dict.fromkeys(files)), missing


def process_documents(app: Application, ids: list[str], show_progress: bool,
                      dagster: DagsterSetUp | None = None) -> None:
    """Run the ingest job in process over those of `ids` that still owe work, then see to the search index."""
    pending = [doc.id for doc, _ in app.documents(ids) if doc.status not in SETTLED]
    if not pending:
        return
    dagster = dagster or DagsterSetUp(app)
    with ProgressReporter(app, pending, enabled=show_progress):
        results = dagster.launch(pending)
        results += _finish_parse_jobs(app, pending, dagster)
    for result in results:
        if not result.success:
            print(f"run {result.run_id} failed: {_run_error(result)}", file=sys.stderr)
    keep_index_up(app)


def _finish_parse_jobs(app: Application, ids: list[str], dagster: DagsterSetUp) -> list:
    """With a parser service, wait for the jobs the first run submitted, then run the rest; stuck
    jobs are submitted again by the next run, up to the parser's limit."""
    from ingest_pipeline.parse.parsers import AsynchronousParser
    from ingest_pipeline.parse.tracking import wait_for_jobs

    parser, results = app.resources["parser"], []
    if not isinstance(parser, AsynchronousParser):
        return results
    for _ in range(parser.max_submissions + 1):
        waiting = [doc.id for doc, _ in app.documents(ids) if doc.status is DocumentStatus.SUBMITTED]
        if not waiting:
            break
        wait_for_jobs(app.engine, parser, waiting)
        results += dagster.launch(waiting)
    return results


def _run_error(result) -> str:
    for event in result.all_events:
        if event.is_failure and event.step_failure_data and event.step_failure_data.error:
            return f"{event.step_key}: {event.step_failure_data.error.message.strip()}"
    return "see the run in the Dagster UI"


def _intake_failure(path: Path, reason: str) -> dict:
    return {"id": None, "path": str(path), "sha256": None, "status": str(DocumentStatus.FAILED),
            "failed_stage": "intake", "reason": reason, "attempts": 0, "chunks": 0, "embeddings": 0,
            "partition": None}


def _print_totals(rows: list[dict]) -> None:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    print(f"{len(rows)} documents: {summary}", file=sys.stderr)
