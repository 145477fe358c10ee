"""The benchmark corpus: real files from /usr/share/doc of mixed types and sizes, plus generated PDFs."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from benchmarks.corpus import SOURCES, gather
from benchmarks.pdf_corpus import make_pdf, read_text

# About one document in ten is a PDF, from one page to a few dozen.
PDF_SHARE = 0.1
MAX_PDF_PAGES = 40
_KNOWN = (".pdf", ".html", ".md", ".txt")


def build(destination: Path, size: int) -> list[Path]:
    """`size` documents in `destination`: HTML, Markdown, text and PDF, deterministic for a size."""
    pdfs = max(1, round(size * PDF_SHARE))
    files = gather(destination, size - pdfs)
    compressed = _compressed_texts()
    # Past what gather finds (about 1,700 files here), decompressed changelogs and READMEs fill in.
    for source in compressed[: size - pdfs - len(files)]:
        target = destination / f"{len(files):04d}-{source.parent.name}-{source.name[:-3]}"
        target = target if target.suffix in (".md", ".txt", ".html") else target.with_suffix(".txt")
        target.write_text(read_text(source), encoding="utf-8")
        files.append(target)
    # PDFs take their text from the far end of the pool, so they do not repeat the text files.
    for index in range(pdfs):
        sources = [compressed[-1 - (index * 3 + k) % len(compressed)] for k in range(1 + index % 3)]
        pages = 1 + (index * 7) % MAX_PDF_PAGES
        files.append(make_pdf(destination / f"{len(files):04d}-generated-{index}.pdf", sources, pages,
                              f"Generated document {index}"))
    return files


def describe(files: list[Path]) -> str:
    """`300 documents (120 .txt, 75 .html, ...), 12.3 MB`."""
    kinds = Counter(path.suffix if path.suffix in _KNOWN else "other text" for path in files)
    size = sum(path.stat().st_size for path in files)
    listed = ", ".join(f"{n} {kind}" for kind, n in kinds.most_common())
    return f"{len(files)} documents ({listed}), {size / 1e6:.1f} MB"


def _compressed_texts() -> list[Path]:
    return sorted(p for p in SOURCES.rglob("*.gz") if p.is_file() and p.stat().st_size > 500)
