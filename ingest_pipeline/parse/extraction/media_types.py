"""The media types the pipeline can ingest, named once for every stage that needs them."""

from __future__ import annotations

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
HTML = "text/html"
MARKDOWN = "text/markdown"
TEXT = "text/plain"

SUPPORTED: tuple[str, ...] = (PDF, DOCX, HTML, MARKDOWN, TEXT)

# Written for the uploader, who knows formats by their everyday names rather than MIME types.
SUPPORTED_DESCRIPTION = "PDF, Word (.docx), HTML, Markdown and plain text"
