"""A corpus of real documents nobody here wrote, gathered from the machine's /usr/share/doc."""

from __future__ import annotations

import shutil
from pathlib import Path

SOURCES = Path("/usr/share/doc")
PATTERNS = ("*.html", "*.md", "*.pdf", "*.txt", "copyright")


def gather(destination: Path, size: int) -> list[Path]:
    """Copy up to `size` distinct-looking files (HTML, Markdown, PDF, text) into `destination`."""
    destination.mkdir(parents=True, exist_ok=True)
    found: list[Path] = []
    for pattern in PATTERNS:
        found.extend(sorted(p for p in SOURCES.rglob(pattern) if p.is_file() and p.stat().st_size > 200))
    picked = _interleave(found)[:size]
    copies = []
    for index, source in enumerate(picked):
        target = destination / f"{index:04d}-{source.parent.name}-{source.name}"
        if not target.suffix:
            target = target.with_suffix(".txt")
        shutil.copyfile(source, target)
        copies.append(target)
    return copies


def _interleave(paths: list[Path]) -> list[Path]:
    """Mix the kinds so a small corpus still has every type."""
    by_kind: dict[str, list[Path]] = {}
    for path in paths:
        by_kind.setdefault(path.suffix or "text", []).append(path)
    mixed = []
    while any(by_kind.values()):
        for kind in list(by_kind):
            if by_kind[kind]:
                mixed.append(by_kind[kind].pop(0))
    return mixed
