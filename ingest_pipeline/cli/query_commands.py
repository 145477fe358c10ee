"""`ingest-pipeline status` and `ingest-pipeline search`: read what the pipeline has built."""

from __future__ import annotations

import dataclasses
import sys
from datetime import datetime

from ingest_pipeline.cli.output import DOCUMENT_FIELDS, document_row, print_json_lines, print_table
from ingest_pipeline.domain.ids import RESERVED_PREFIXES
from ingest_pipeline.domain.metadata import InvalidMetadata, parse_metadata
from ingest_pipeline.domain.search_modes import SearchMode
from ingest_pipeline.domain.statuses import DocumentStatus
from ingest_pipeline.search.hits import Hit
from ingest_pipeline.search.nearest import Filters
from ingest_pipeline.service.application import Application, NothingEmbedded


def add_to(commands) -> None:
    status = commands.add_parser("status", help="Every document with its status, chunks and embeddings.")
    status.add_argument("--json", action="store_true", help="One JSON object per document.")
    status.add_argument("--failed", action="store_true", help="Only failed documents.")
    status.set_defaults(handler=show_status)
    search = commands.add_parser("search", help="The chunks that best answer a query, with where they are.")
    search.add_argument("query")
    search.add_argument("-k", type=int, default=5, help="How many chunks (default 5).")
    search.add_argument("--mode", choices=[str(m) for m in SearchMode], default=str(SearchMode.HYBRID),
                        help="hybrid (default) fuses vector and keyword rankings; vector or keyword use one.")
    search.add_argument("--document", action="append", default=[], metavar="ID", help="Only this document (repeat).")
    search.add_argument("--external-id-prefix", metavar="PREFIX", help="Only documents whose external id starts so.")
    search.add_argument("--media-type", action="append", default=[], metavar="TYPE",
                        help="Only documents of this media type, e.g. application/pdf (repeat).")
    search.add_argument("--metadata", metavar="JSON", help='Only documents whose metadata contains this object, '
                                                           'e.g. \'{"team": "finance"}\'.')
    search.add_argument("--after", metavar="TIME", help="Only documents registered at or after this ISO 8601 time.")
    search.add_argument("--before", metavar="TIME", help="Only documents registered before this ISO 8601 time.")
    search.add_argument("--json", action="store_true", help="One JSON object per hit, with every field.")
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
        filters = _filters(args)
    except (InvalidMetadata, ValueError) as error:
        print(f"error: bad search filter: {error}", file=sys.stderr)
        return 2
    try:
        hits = Application.from_env().search(args.query, args.k, SearchMode(args.mode), filters)
    except NothingEmbedded as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.json:
        print_json_lines((_json_row(hit) for hit in hits), sys.stdout)  # the stream of now, not of import time
    else:
        for number, hit in enumerate(hits, start=1):
            print(_citation(number, hit, SearchMode(args.mode)))
    return 0


def _filters(args) -> Filters:
    return Filters(document_ids=args.document, external_id_prefix=args.external_id_prefix,
                   media_types=args.media_type, metadata=parse_metadata(args.metadata) if args.metadata else None,
                   ingested_after=_time("--after", args.after), ingested_before=_time("--before", args.before))


def _time(option: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{option} {value!r} is not an ISO 8601 time, e.g. 2024-05-01 or 2024-05-01T09:30Z") from None


def _json_row(hit: Hit) -> dict:
    """Every field of the hit, plus `path` and `page` (the document's path, the first page) as before."""
    return {**dataclasses.asdict(hit), "heading_path": list(hit.heading_path), "path": hit.source,
            "page": hit.page_start}


def _citation(number: int, hit: Hit, mode: SearchMode) -> str:
    """Three lines: rank, document and place; the scores; the snippet."""
    where = [f"p. {hit.pages}"] + ([" > ".join(hit.heading_path)] if hit.heading_path else [])
    # The pipeline's own identities (a file's path, inbox path, content hash) add nothing; a caller's id does.
    shown = hit.external_id and not hit.external_id.casefold().startswith(RESERVED_PREFIXES)
    named = hit.source + (f"  [{hit.external_id}]" if shown else "")
    parts = [f"{mode} {hit.score:.4f}"]
    if hit.vector_similarity is not None:
        parts.append(f"vector {hit.vector_similarity:.3f}" + (f" #{hit.vector_rank}" if hit.vector_rank else ""))
    if hit.keyword_score is not None:
        parts.append(f"keyword {hit.keyword_score:.3f}" + (f" #{hit.keyword_rank}" if hit.keyword_rank else ""))
    return (f"{number}. {named}  ({', '.join(where)})\n   {'  '.join(parts)}  document {hit.document_id}\n"
            f"   {hit.snippet}\n")
