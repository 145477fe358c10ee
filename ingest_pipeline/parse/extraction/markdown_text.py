"""Markdown extraction: the text as written, less any YAML or TOML front-matter block."""

from __future__ import annotations

import re
from collections.abc import Generator
from pathlib import Path

from ingest_pipeline.domain.errors import DocumentRejected
from ingest_pipeline.domain.models import Page
from ingest_pipeline.parse.extraction.plain_text import decode_text

# Front matter is metadata for site generators (Jekyll, Hugo), not prose anyone searches for.
_FRONT_MATTER = re.compile(
    r"\A(?:---[ \t]*\n(?:.*?\n)?(?:---|\.\.\.)|\+\+\+[ \t]*\n(?:.*?\n)?\+\+\+)[ \t]*(?:\n+|\Z)",
    re.DOTALL,
)


def strip_front_matter(text: str) -> str:
    return _FRONT_MATTER.sub("", text, count=1)


def extract_markdown(path: Path) -> Generator[Page, None, None]:
    source = decode_text(path.read_bytes())
    text = strip_front_matter(source)
    if source.strip() and not text.strip():
        raise DocumentRejected(
            "The Markdown file holds only front matter (the metadata block between its --- or +++ lines) "
            "and no text after it."
        )
    yield Page(number=1, text=text)
