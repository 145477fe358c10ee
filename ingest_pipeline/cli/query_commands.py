"""`ingest-pipeline status` and `ingest-pipeline search`: read what the pipeline has built."""

from __future__ import annotations

import sys

from ingest_pipeline.cli.output import DOCUMENT_FIELDS, document_row, print_json_lines, print_table
from ingest_pipeline.domain.statuses import DocumentStatus
from ingest_pipeline.service.application import Application, NothingEmbedded


def add_to(commands) -> None:
    status = commands.add_parser("status", help="Every document with its status, chunks and embeddings.")
    status.add_argument("--json", action="store_true", help="One JSON object per document.")
    status.add_argument("--failed", action="store_true", help="Only failed documents.")
    status.set_defaults(handler=show_status)
    search = commands.add_parser("search", help="The chunks nearest to a query.")
    search.add_argument("query")
    search.add_argument("-k", type=int, default=5, help="How many chunks (default 5).")
    search.add_argument("--json", action="store_true", help="One JSON object per hit.")
    search.set_defaults(handler=search_chunks)


def show_status(args) -> int:
    statuses = [DocumentStatus.FAILED] if args.failed else []
    app = Application.from_env()
    rows = [document_row(doc, n) for doc, n in app.documents(statuses=statuses)]
    if args.json:
        print_json_lines([{k: row[k] for k in DOCUMENT_FIELDS} for row in rows])
    else:
        columns = ("id", "failed_stage", "attempts", "path", "reason") if args.failed else \
            ("id", "status", "failed_stage", "chunks", "embeddings", "path", "reason")
        print_table(rows, columns, width=200 if args.failed else 60)
    for circuit in app.paused_providers():
        print(f"paused: {circuit.describe()}", file=sys.stderr)
    return 0


def search_chunks(args) -> int:
    if args.k < 1:
        print("error: -k must be at least 1", file=sys.stderr)
        return 2
    try:
        hits = Application.from_env().search(args.query, args.k)
    except NothingEmbedded as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    rows = [{"document_id": h.document_id, "path": h.source, "page": h.page_start, "score": round(h.score, 4),
             "heading": " > ".join(h.heading_path), "text": h.text} for h in hits]
    if args.json:
        print_json_lines(rows)
    else:
        print_table(rows, ("score", "document_id", "page", "path", "text"), width=70)
    return 0
