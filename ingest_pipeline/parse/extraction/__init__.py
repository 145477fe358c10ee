"""Text extraction for the local parser: detect a document's type from its bytes, then read its pages.

Pure code (no Dagster): every fault of the document itself raises `DocumentRejected`.
"""

from ingest_pipeline.parse.extraction.extract import extract_pages
from ingest_pipeline.parse.extraction.limits import ExtractionLimits
from ingest_pipeline.parse.extraction.media_types import (
    DOCX,
    HTML,
    MARKDOWN,
    PDF,
    SUPPORTED,
    SUPPORTED_DESCRIPTION,
    TEXT,
)
from ingest_pipeline.parse.extraction.sniff import SNIFF_BYTES, sniff_file, sniff_media_type, sniff_open_file

__all__ = [
    "DOCX",
    "HTML",
    "MARKDOWN",
    "PDF",
    "SNIFF_BYTES",
    "SUPPORTED",
    "SUPPORTED_DESCRIPTION",
    "TEXT",
    "ExtractionLimits",
    "extract_pages",
    "sniff_file",
    "sniff_open_file",
    "sniff_media_type",
]
