"""Dispatch of a document to the extractor for its media type, within the extraction limits."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

from ingest_pipeline.domain.errors import DocumentRejected
from ingest_pipeline.domain.models import Page
from ingest_pipeline.parse.extraction.docx_text import extract_docx
from ingest_pipeline.parse.extraction.html_text import extract_html
from ingest_pipeline.parse.extraction.limits import (
    Deadline,
    ExtractionLimits,
    enforce_limits,
    too_large,
    too_many_characters,
)
from ingest_pipeline.parse.extraction.markdown_text import extract_markdown
from ingest_pipeline.parse.extraction.media_types import DOCX, HTML, MARKDOWN, PDF, SUPPORTED_DESCRIPTION, TEXT
from ingest_pipeline.parse.extraction.pdf_text import extract_pdf
from ingest_pipeline.parse.extraction.plain_text import extract_text

# No encoding spends more than four bytes on a character, so a larger file must exceed the limit.
_MAX_BYTES_PER_CHARACTER = 4


def extract_pages(
    path: Path, media_type: str, limits: ExtractionLimits = ExtractionLimits()
) -> Iterator[Page]:
    """Yield the document's pages lazily (1-based numbers; one page for formats without pages).

    Close the iterator (or exhaust it) to release the file promptly.
    """
    size = path.stat().st_size
    # Both turned away before reading, rather than after decoding gigabytes.
    if size > limits.max_file_bytes:
        raise too_large(size, limits.max_file_bytes)
    if media_type in (TEXT, MARKDOWN, HTML) and size > _MAX_BYTES_PER_CHARACTER * limits.max_characters:
        raise too_many_characters(limits)
    deadline = Deadline(limits.max_seconds)
    yield from enforce_limits(_pages(path, media_type, limits, deadline), limits, deadline)


def _pages(path: Path, media_type: str, limits: ExtractionLimits,
           deadline: Deadline) -> Generator[Page, None, None]:
    if media_type == PDF:
        return extract_pdf(path, limits)
    if media_type == DOCX:
        return extract_docx(path, limits)
    if media_type == HTML:
        return extract_html(path, deadline)
    if media_type == MARKDOWN:
        return extract_markdown(path)
    if media_type == TEXT:
        return extract_text(path)
    raise DocumentRejected(
        f"Files of type {media_type!r} cannot be ingested. Supported types are {SUPPORTED_DESCRIPTION}."
    )
