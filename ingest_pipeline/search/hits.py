"""What a search answers with: one hit per chunk, the one shape the CLI and the API both show."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Hit:
    document_id: str
    source: str
    page_start: int
    page_end: int
    heading_path: tuple[str, ...]
    score: float
    text: str
