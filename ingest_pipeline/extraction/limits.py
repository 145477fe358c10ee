"""The size limits a document must stay within, and their enforcement over a stream of pages."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from contextlib import closing
from dataclasses import dataclass

from ingest_pipeline.errors import DocumentRejected
from ingest_pipeline.models import Page


@dataclass(frozen=True)
class ExtractionLimits:
    """Bounds that keep one document from exhausting a worker's time or memory."""

    max_pages: int = 5000
    max_characters: int = 20_000_000
    # A .docx is a zip: these bound what it may inflate to before any XML is parsed.
    max_uncompressed_bytes: int = 200 * 1024 * 1024
    max_compression_ratio: float = 100.0


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


def enforce_limits(pages: Generator[Page, None, None], limits: ExtractionLimits) -> Iterator[Page]:
    """Pass pages through, rejecting the document as soon as it exceeds a limit."""
    characters = 0
    # closing() makes an abandoned or failing stream release its file handles at once.
    with closing(pages):
        for page in pages:
            if page.number > limits.max_pages:
                raise too_many_pages(limits)
            characters += len(page.text)
            if characters > limits.max_characters:
                raise too_many_characters(limits)
            yield page
