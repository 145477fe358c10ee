"""The size and time limits a document must stay within, and their enforcement over a stream of pages."""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator
from contextlib import closing
from dataclasses import dataclass, field

from ingest_pipeline.domain.errors import DocumentRejected
from ingest_pipeline.domain.models import Page

MEGABYTE = 1024 * 1024
# The defaults of INGEST_MAX_UPLOAD_MB, INGEST_MAX_PAGES and INGEST_MAX_PARSE_SECONDS. The upload limit
# holds everywhere a file enters: the API refuses it while streaming, the inbox sets it aside, parsing fails it.
MAX_UPLOAD_MB = 100
MAX_PAGES = 5000
MAX_PARSE_SECONDS = 300


@dataclass(frozen=True)
class ExtractionLimits:
    """Bounds that keep one document from exhausting a worker's time or memory."""

    max_pages: int = MAX_PAGES
    max_characters: int = 20_000_000
    max_file_bytes: int = MAX_UPLOAD_MB * MEGABYTE
    # Checked between pages (and between pieces of an HTML page): one page is bounded by the byte limits.
    max_seconds: float = MAX_PARSE_SECONDS
    # A .docx is a zip and a PDF holds compressed streams: these bound what one may inflate to,
    # before any XML or page content is parsed.
    max_uncompressed_bytes: int = 200 * MEGABYTE
    max_compression_ratio: float = 100.0


@dataclass
class Deadline:
    """The moment a document's extraction has run out of time."""

    seconds: float
    started: float = field(default_factory=time.monotonic)

    def check(self) -> None:
        if time.monotonic() - self.started > self.seconds:
            raise DocumentRejected(
                f"Reading the document took longer than the limit of {self.seconds:,.0f} seconds; it is far "
                "larger or more complex than usual. Split it into smaller files and upload those."
            )


def too_many_pages(limits: ExtractionLimits, count: int | None = None) -> DocumentRejected:
    has = f"{count:,} pages" if count is not None else f"more than {limits.max_pages:,} pages"
    return DocumentRejected(
        f"The document has {has}; the limit is {limits.max_pages:,} pages per document."
    )


def too_many_characters(limits: ExtractionLimits) -> DocumentRejected:
    return DocumentRejected(
        f"The document has more than {limits.max_characters:,} characters of text; "
        f"the limit is {limits.max_characters:,} characters per document."
    )


def too_large(size_bytes: int, limit_bytes: int) -> DocumentRejected:
    return DocumentRejected(
        f"The file is {_megabytes(size_bytes)}; the limit is {_megabytes(limit_bytes)} per document. "
        "Split it into smaller files and upload those."
    )


def _megabytes(size_bytes: int) -> str:
    # Rounded down, so a file one byte over a 100 MB limit does not read as "100 MB".
    whole, rest = divmod(size_bytes, MEGABYTE)
    return f"{whole:,} MB" if not rest else f"more than {whole:,} MB" if whole else f"{size_bytes:,} bytes"


def enforce_limits(pages: Generator[Page, None, None], limits: ExtractionLimits,
                   deadline: Deadline | None = None) -> Iterator[Page]:
    """Pass pages through, rejecting the document as soon as it exceeds a limit."""
    characters = 0
    deadline = deadline or Deadline(limits.max_seconds)
    # closing() makes an abandoned or failing stream release its file handles at once.
    with closing(pages):
        for page in pages:
            if page.number > limits.max_pages:
                raise too_many_pages(limits)
            characters += len(page.text)
            if characters > limits.max_characters:
                raise too_many_characters(limits)
            deadline.check()
            yield page
