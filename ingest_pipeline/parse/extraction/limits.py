"""The size and time limits a document must stay within, and their enforcement over a stream of pages.

These are checked by the extraction code itself; `parse.sandbox` adds the limits the kernel enforces
(memory, CPU time) and a wall clock kept from outside, whose defaults and setting names are here too.
"""

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
# The defaults of INGEST_PARSE_MEMORY_MB and INGEST_PARSE_CPU_SECONDS, enforced by the kernel on the
# process that reads one document (`parse.sandbox`).
PARSE_MEMORY_MB = 1024
PARSE_CPU_SECONDS = 240
# The settings named in the reasons a document fails for (settings.py reads them under these names).
WALL_SETTING = "INGEST_MAX_PARSE_SECONDS"
MEMORY_SETTING = "INGEST_PARSE_MEMORY_MB"
CPU_SETTING = "INGEST_PARSE_CPU_SECONDS"
_SPLIT = "Split it into smaller files and upload those."


@dataclass(frozen=True)
class ExtractionLimits:
    """Bounds that keep one document from exhausting a worker's time or memory."""

    max_pages: int = MAX_PAGES
    max_characters: int = 20_000_000
    max_file_bytes: int = MAX_UPLOAD_MB * MEGABYTE
    # Checked between pages (and between pieces of an HTML page); the sandbox's wall clock bounds one page.
    max_seconds: float = MAX_PARSE_SECONDS
    # A .docx is a zip and a PDF holds compressed streams: these bound what one may inflate to,
    # before any XML or page content is parsed. For a PDF the first holds per stream and per page.
    max_uncompressed_bytes: int = 200 * MEGABYTE
    max_compression_ratio: float = 100.0
    # What all of a PDF's streams but its images may inflate to together.
    max_document_uncompressed_bytes: int = 1024 * MEGABYTE


@dataclass
class Deadline:
    """The moment a document's extraction has run out of time."""

    seconds: float
    started: float = field(default_factory=time.monotonic)

    def check(self) -> None:
        if time.monotonic() - self.started > self.seconds:
            raise too_slow(self.seconds)


def too_slow(seconds: float) -> DocumentRejected:
    return DocumentRejected(
        f"Reading the document took longer than {seconds:,.0f} seconds, the limit per document ({WALL_SETTING}); "
        f"it is far larger or more complex than usual. {_SPLIT}"
    )


def too_much_memory(megabytes: int) -> DocumentRejected:
    return DocumentRejected(
        f"Reading the document needed more than {megabytes:,} MB of memory, the limit per document "
        f"({MEMORY_SETTING}); it is far larger or more complex than usual, or built to exhaust memory. {_SPLIT}"
    )


def too_much_cpu(seconds: int) -> DocumentRejected:
    return DocumentRejected(
        f"Reading the document used more than {seconds:,} second{'s' if seconds != 1 else ''} of processor time, the limit per document "
        f"({CPU_SETTING}); it is far larger or more complex than usual, or built to exhaust the processor. {_SPLIT}"
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
        f"The file is {_megabytes(size_bytes)}; the limit is {_megabytes(limit_bytes)} per document. {_SPLIT}"
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
