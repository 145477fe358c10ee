"""How the CLI prints documents and search hits: aligned tables for people, JSON lines for programs."""

from __future__ import annotations

import json
import sys
from typing import Iterable, Sequence, TextIO

from ingest_pipeline.store.documents import Document

DOCUMENT_FIELDS = ("id", "path", "sha256", "status", "failed_stage", "reason", "attempts", "chunks", "embeddings",
                   "partition")


def document_row(doc: Document, embeddings: int) -> dict:
    return {"id": doc.id, "path": doc.source, "sha256": doc.sha256, "status": str(doc.status),
            "failed_stage": doc.failed_stage, "reason": doc.reason, "attempts": doc.attempts, "chunks": doc.chunk_count,
            "embeddings": embeddings, "partition": doc.partition_key}


def print_json_lines(rows: Iterable[dict], out: TextIO = sys.stdout) -> None:
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")


def print_table(rows: Sequence[dict], columns: Sequence[str], out: TextIO = sys.stdout, width: int = 60) -> None:
    """Columns sized to their content, long cells cut with an ellipsis."""
    cells = [[_cell(row.get(column), width) for column in columns] for row in rows]
    widths = [max([len(column)] + [len(line[i]) for line in cells]) for i, column in enumerate(columns)]
    out.write("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip() + "\n")
    for line in cells:
        out.write("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() + "\n")


def _cell(value, width: int) -> str:
    text = "" if value is None else str(value).replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"
