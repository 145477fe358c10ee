"""A corpus of real documents nobody here wrote, gathered from the machine's /usr/share/doc."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Collection
from itertools import islice
from pathlib import Path

SOURCES = Path("/usr/share/doc")
PATTERNS = ("*.html", "*.md", "*.pdf", "*.txt", "copyright")


def gather(destination: Path, size: int, exclude: Collection[str] = (), first_number: int = 0) -> list[Path]:
    """Copy up to `size` distinct-looking files (HTML, Markdown, PDF, text) into `destination`, passing over
    those whose sha256 is in `exclude` (another corpus's files); names are numbered from `first_number`."""
    destination.mkdir(parents=True, exist_ok=True)
    found: list[Path] = []
    for pattern in PATTERNS:
        found.extend(sorted(p for p in SOURCES.rglob(pattern) if p.is_file() and p.stat().st_size > 200))
    kept = (p for p in _interleave(found) if not exclude or sha256_of(p.read_bytes()) not in exclude)
    picked = islice(kept, size)
    copies = []
    for index, source in enumerate(picked, start=first_number):
        target = destination / f"{index:04d}-{source.parent.name}-{source.name}"
        if not target.suffix:
            target = target.with_suffix(".txt")
        shutil.copyfile(source, target)
        copies.append(target)
    return copies


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


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
