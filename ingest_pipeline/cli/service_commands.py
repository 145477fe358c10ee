"""`ingest-pipeline api` and `ingest-pipeline retry`: serve the ingest API, and re-drive failed documents."""

from __future__ import annotations

import sys

from ingest_pipeline.api.binding import DEFAULT_HOST, DEFAULT_PORT, UnsafeBinding
from ingest_pipeline.cli.ingest_command import process_documents
from ingest_pipeline.cli.output import document_row, print_table
from ingest_pipeline.domain.statuses import DocumentStatus
from ingest_pipeline.service.application import Application
from ingest_pipeline.service.lifecycle import redrive


def add_to(commands) -> None:
    api = commands.add_parser("api", help="Serve the ingest HTTP API (uploads, status, delete, retry, search).")
    api.add_argument("--host", default=DEFAULT_HOST)
    api.add_argument("--port", type=int, default=DEFAULT_PORT)
    api.set_defaults(handler=serve_api)
    retry = commands.add_parser("retry", help="Re-run failed documents from the stage that failed.")
    retry.add_argument("ids", nargs="*", help="Document ids (see `status --failed`).")
    retry.add_argument("--failed", action="store_true", help="Every failed document.")
    retry.set_defaults(handler=retry_failed)


def serve_api(args) -> int:
    from ingest_pipeline.api.server import serve

    app = Application.from_env()
    try:
        serve(args.host, args.port, app.settings.api_token or None, app.settings.max_file_bytes, app)
    except UnsafeBinding as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def retry_failed(args) -> int:
    if not args.ids and not args.failed:
        print("error: name document ids, or pass --failed", file=sys.stderr)
        return 2
    app = Application.from_env()
    wanted = args.ids or [doc.id for doc, _ in app.documents(statuses=[DocumentStatus.FAILED])]
    redriven = redrive(app, wanted)
    print(f"re-driving {len(redriven)} of {len(wanted)} document(s)", file=sys.stderr)
    process_documents(app, redriven, show_progress=True)
    rows = [document_row(doc, n) for doc, n in app.documents(wanted)]
    print_table(rows, ("id", "status", "failed_stage", "chunks", "embeddings", "path", "reason"))
    return 1 if any(row["status"] == DocumentStatus.FAILED for row in rows) else 0
