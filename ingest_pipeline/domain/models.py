"""Plain data passed between the pure stages: pages of text and the chunks cut from them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    """One page of a document's text; `number` is 1-based (formats without pages have one page)."""

    number: int
    text: str


@dataclass(frozen=True)
class Chunk:
    """A span of a document's validated text, sized for the embedding model."""

    ordinal: int
    text: str
    token_count: int
    page_start: int
    page_end: int
    heading_path: tuple[str, ...] = ()
