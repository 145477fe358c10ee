"""PDF figures: our local parser's speed against raw pypdfium2 text extraction on the same files."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pypdfium2

from ingest_pipeline.parse.extraction import ExtractionLimits, extract_pages
from ingest_pipeline.parse.extraction.media_types import PDF


@dataclass
class ParseSpeed:
    files: int
    pages: int
    ours_seconds: float
    raw_seconds: float

    @property
    def ratio(self) -> float:
        """How many times longer our parser takes than bare pypdfium2 (1.0 means no overhead)."""
        return self.ours_seconds / self.raw_seconds


def parse_speed(pdfs: list[Path], rounds: int = 3) -> ParseSpeed:
    """The best of `rounds` timings of each side over all the PDFs, the two sides alternating."""
    ours, raw, pages = [], [], 0
    for _ in range(rounds):
        started = time.perf_counter()
        pages = sum(_parse_ours(path) for path in pdfs)
        ours.append(time.perf_counter() - started)
        started = time.perf_counter()
        raw_pages = sum(_extract_raw(path) for path in pdfs)
        raw.append(time.perf_counter() - started)
        assert raw_pages == pages, f"pypdfium2 saw {raw_pages} pages, our parser {pages}"
    return ParseSpeed(len(pdfs), pages, min(ours), min(raw))


def _parse_ours(path: Path) -> int:
    """Every page's text through the local parser's code path (limits, cleanup, page by page)."""
    return sum(1 for _ in extract_pages(path, PDF, ExtractionLimits(max_seconds=3600)))


def _extract_raw(path: Path) -> int:
    """What a script calling pypdfium2 directly does: open, and get each page's text."""
    pdf = pypdfium2.PdfDocument(path)
    try:
        for page in pdf:
            textpage = page.get_textpage()
            textpage.get_text_range()
            textpage.close()
            page.close()
        return len(pdf)
    finally:
        pdf.close()
