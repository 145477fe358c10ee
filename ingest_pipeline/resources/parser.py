"""Parser resources: turn a stored file into pages of Markdown-like text."""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import Iterator

import dagster as dg
from pydantic import Field

from ingest_pipeline.extraction import ExtractionLimits, extract_pages
from ingest_pipeline.models import Page

# Bump when extraction changes what it produces, so stored parses are redone.
LOCAL_PARSER_VERSION = 1


class ParserResource(dg.ConfigurableResource):
    """What the `parsed_text` asset needs from any parser."""

    @property
    @abstractmethod
    def fingerprint(self) -> str:
        """Changes whenever the same bytes could parse differently: part of the parse key."""

    @abstractmethod
    def parse(self, path: Path, media_type: str) -> Iterator[Page]:
        """The document's pages, lazily; raises DocumentRejected for a file it cannot read."""


class LocalParser(ParserResource):
    """Offline parsing with pypdfium2, python-docx and the standard library."""

    max_pages: int = Field(default=5000, description="Reject documents with more pages than this.")

    @property
    def fingerprint(self) -> str:
        return f"local-v{LOCAL_PARSER_VERSION}-pages{self.max_pages}"

    def parse(self, path: Path, media_type: str) -> Iterator[Page]:
        return extract_pages(path, media_type, ExtractionLimits(max_pages=self.max_pages))
