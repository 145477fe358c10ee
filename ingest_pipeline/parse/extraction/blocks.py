"""Layout of extracted blocks as text: blank lines between blocks, single breaks within lists and tables."""

from __future__ import annotations

from collections.abc import Iterable

# Blocks of any other kind are runs (a list's items, a table's rows) that read best line by line.
PARAGRAPH = "paragraph"


def join_blocks(blocks: Iterable[tuple[str, str]]) -> str:
    """Join `(text, kind)` blocks; consecutive blocks of one non-paragraph kind share a run."""
    parts: list[str] = []
    previous = None
    for text, kind in blocks:
        if parts:
            parts.append("\n" if kind == previous and kind != PARAGRAPH else "\n\n")
        parts.append(text)
        previous = kind
    return "".join(parts)
